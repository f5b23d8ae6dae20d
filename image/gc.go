package image

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/winlayer/winlayer/layer"
)

// RemoveResult says what Remove did.
type RemoveResult struct {
	// Untagged are the references dropped.
	Untagged []string `json:"untagged"`
	// Deleted are the manifest digests of the image records dropped.
	Deleted []string `json:"deleted"`
	// Layers are the store layers removed (no image and no other layer
	// needed them).
	Layers []string `json:"layers"`
	// Kept are layers of the removed images that stay because a layer
	// outside the images (one imported by hand on top) needs them.
	Kept []string `json:"kept"`
	// Blobs are the blobs removed.
	Blobs int `json:"blobs"`
}

// Remove drops the image name n. A reference drops only that reference;
// the image record goes with its last tag (digest references alone do not
// keep it). A manifest digest drops
// the image and all its references. Then the layers of dropped images that
// no other image uses are removed (children first; a layer another layer
// still needs stays and is listed in Kept), and so are the blobs no image
// names. It all happens under the index lock.
func (s *Store) Remove(n string) (*RemoveResult, error) {
	res := &RemoveResult{}
	var dropped []*Record
	err := s.update(func(ix *indexFile) error {
		d, rec, ref, err := ix.findRef(n)
		if err != nil {
			return fmt.Errorf("rm: %w", err)
		}
		if ref != "" {
			delete(ix.Refs, ref)
			res.Untagged = append(res.Untagged, ref)
			// Digest references (repo@sha256:…) do not keep an image
			// alive on their own, as with docker.
			for _, r := range ix.refsOf(d) {
				if !strings.Contains(r, "@") {
					return nil
				}
			}
		}
		for _, r := range ix.refsOf(d) {
			delete(ix.Refs, r)
			res.Untagged = append(res.Untagged, r)
		}
		delete(ix.Images, d)
		res.Deleted = append(res.Deleted, d)
		dropped = append(dropped, rec)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(dropped) == 0 {
		return res, nil
	}
	return res, s.collect(dropped, res)
}

// collect removes the layers and blobs of dropped records that the
// remaining images do not use, under the index lock. A layer another
// pull imported meanwhile but has not recorded yet may be removed too;
// that pull then fails at its record and says to pull again.
func (s *Store) collect(dropped []*Record, res *RemoveResult) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	ix, err := s.read()
	if err != nil {
		return err
	}
	usedLayers := map[string]bool{}
	usedBlobs := map[string]bool{}
	for _, r := range ix.Images {
		usedBlobs[r.ManifestDigest], usedBlobs[r.ConfigDigest] = true, true
		if r.IndexDigest != "" {
			usedBlobs[r.IndexDigest] = true
		}
		for _, l := range r.Layers {
			usedLayers[l.ID] = true
			usedBlobs[l.Digest] = true
		}
	}
	var errs []error
	candidates := map[string]bool{}
	for _, r := range dropped {
		candidates[r.ManifestDigest], candidates[r.ConfigDigest] = true, true
		if r.IndexDigest != "" {
			candidates[r.IndexDigest] = true
		}
		for _, l := range r.Layers {
			candidates[l.Digest] = true
		}
		// Children first: the top layer, then its parents.
		for i := len(r.Layers) - 1; i >= 0; i-- {
			id := r.Layers[i].ID
			if usedLayers[id] || slices.Contains(res.Layers, id) || slices.Contains(res.Kept, id) {
				continue
			}
			if !s.layers.Exists(id) {
				continue
			}
			err := s.layers.Remove(id)
			switch {
			case err == nil:
				res.Layers = append(res.Layers, id)
			case errors.Is(err, layer.ErrInUse):
				res.Kept = append(res.Kept, id)
			default:
				errs = append(errs, err)
			}
		}
	}
	// Blobs: those of the dropped images that nothing uses now, and
	// orphans (of failed pulls) older than staleTemp.
	all, err := s.blobDigests()
	if err != nil {
		errs = append(errs, err)
	}
	now := time.Now()
	for _, d := range all {
		ds := d.String()
		if usedBlobs[ds] {
			continue
		}
		if !candidates[ds] && !s.blobOlder(d, now.Add(-staleTemp)) {
			continue
		}
		if err := os.Remove(s.blobPath(d)); err == nil {
			res.Blobs++
		} else if !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := s.removeStaleTemps(now); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// blobOlder reports whether blob d was last written before t.
func (s *Store) blobOlder(d v1.Hash, t time.Time) bool {
	fi, err := os.Stat(s.blobPath(d))
	return err == nil && fi.ModTime().Before(t)
}
