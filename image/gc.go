package image

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/winlayer/winlayer/internal/atomicfile"
	"github.com/winlayer/winlayer/internal/flock"
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
	// Kept are image layers no image uses that stay because a layer
	// outside the images (one imported by hand on top) needs them.
	Kept []string `json:"kept"`
	// Blobs are the blobs removed.
	Blobs int `json:"blobs"`
	// Deferred says that a pull was running: layers and blobs were left
	// for the next Remove or Collect.
	Deferred bool `json:"deferred,omitempty"`
}

// Remove drops the image name n. A reference drops only that reference;
// the image record goes with its last tag (digest references alone do not
// keep it). A manifest digest drops
// the image and all its references. Then the layers of dropped images that
// no other image uses are removed (children first; a layer another layer
// still needs stays and is listed in Kept), and so are the blobs no image
// names (see Collect). It all happens under the index lock.
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
		// What the collection is to remove goes into the same index write
		// as the record: a removal killed before its collection leaves it
		// for the next one (winlayer cleanup, image rm), not to an orphan
		// sweep an hour later.
		ix.Drop[rec.ManifestDigest], ix.Drop[rec.ConfigDigest] = true, true
		if rec.IndexDigest != "" {
			ix.Drop[rec.IndexDigest] = true
		}
		for _, l := range rec.Layers {
			ix.Drop[l.Digest] = true
			ix.Owned[l.ID] = true
		}
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

// Collect removes what no stored image needs: the layers image records
// brought in or took as theirs (a layer imported by hand only if a pull
// found it under a ChainID and recorded it) that no image uses — children
// first; one another layer still needs stays, listed in Kept — and the
// blobs no image names that belonged to removed images, or are an hour
// old (orphans of failed pulls). While a pull runs (in any process)
// layers and blobs are left alone, and Deferred says so: the pull may be
// about to record them (a layer it found present, the blob it kept or an
// old orphan blob of a layer it skipped); the next Remove or Collect takes
// them. It never waits for a pull.
func (s *Store) Collect() (*RemoveResult, error) {
	res := &RemoveResult{}
	return res, s.collect(nil, res)
}

// collect is Collect; the blobs of the dropped records go at once (when no
// pull runs).
func (s *Store) collect(dropped []*Record, res *RemoveResult) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	// The temporary index file of a write killed before its rename.
	atomicfile.RemoveStale(filepath.Join(s.home, imagesDir), "."+indexName+".tmp-")
	pulls, err := flock.TryLock(filepath.Join(s.home, imagesDir, pullsName), flock.Exclusive, lockMode)
	idle := err == nil
	if err != nil && !errors.Is(err, flock.ErrHeld) {
		return fmt.Errorf("image index: %w", err)
	}
	if idle {
		defer pulls.Unlock()
	}
	res.Deferred = !idle
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
	candidates := map[string]bool{}
	for _, r := range dropped {
		candidates[r.ManifestDigest], candidates[r.ConfigDigest] = true, true
		if r.IndexDigest != "" {
			candidates[r.IndexDigest] = true
		}
		for _, l := range r.Layers {
			candidates[l.Digest] = true
			ix.Owned[l.ID] = true // (an index written before owned_layers)
		}
	}
	var errs []error
	changed := false
	for d := range ix.Drop {
		candidates[d] = true
	}
	if !idle {
		// Remembered for the next collection.
		for d := range candidates {
			if !ix.Drop[d] {
				ix.Drop[d] = true
				changed = true
			}
		}
	} else if len(ix.Drop) > 0 {
		clear(ix.Drop)
		changed = true
	}
	if idle {
		// Owned layers no image uses, children first: a layer refused
		// because another one needs it is tried again once that one went.
		var todo []string
		for id := range ix.Owned {
			if usedLayers[id] {
				continue
			}
			if !s.layers.Exists(id) {
				delete(ix.Owned, id)
				changed = true
				continue
			}
			todo = append(todo, id)
		}
		slices.Sort(todo)
		for len(todo) > 0 {
			var again []string
			for _, id := range todo {
				err := s.layers.Remove(context.Background(), id) // image removal has no ctx: it completes
				switch {
				case err == nil:
					res.Layers = append(res.Layers, id)
					delete(ix.Owned, id)
					changed = true
				case errors.Is(err, layer.ErrInUse):
					again = append(again, id)
				default:
					errs = append(errs, err)
				}
			}
			if len(again) == len(todo) {
				res.Kept = append(res.Kept, again...)
				break
			}
			todo = again
		}
	}
	if changed {
		if err := s.write(ix); err != nil {
			errs = append(errs, err)
		}
	}
	// Blobs, only when no pull runs: one may have kept a blob (or be
	// writing one in .blobs/tmp/) that no record names yet, or be about to
	// record a layer it found present whose blob is an old orphan.
	if idle {
		if err := s.collectBlobs(usedBlobs, candidates, res); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// collectBlobs removes the blobs of removed images (now or in a deferred
// collection) that no image uses, the orphans (of failed pulls) older than
// staleTemp, and stale temporary files. Call it with the index lock and
// the pulls lock held.
func (s *Store) collectBlobs(used, candidates map[string]bool, res *RemoveResult) error {
	all, err := s.blobDigests()
	if err != nil {
		return fmt.Errorf("blob store: %w", err)
	}
	var errs []error
	now := time.Now()
	for _, d := range all {
		ds := d.String()
		if used[ds] || !candidates[ds] && !s.blobOlder(d, now.Add(-staleTemp)) {
			continue
		}
		if err := os.Remove(s.blobPath(d)); err == nil {
			res.Blobs++
		} else if !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("blob %s: %w", ds, err))
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
