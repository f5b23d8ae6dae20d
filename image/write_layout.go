package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/winlayer/winlayer/internal/atomicfile"
	"github.com/winlayer/winlayer/internal/ctxio"
)

// ErrNotLayout is returned when oci:DIR names a directory that has files
// but is no OCI image layout.
var ErrNotLayout = errors.New("not an OCI image layout")

const ociLayoutFile = `{"imageLayoutVersion":"1.0.0"}`

// writeToLayout writes p (a prepared image or index) into the layout of lw
// and names it tag in index.json (no name when tag is empty); lw records the
// blobs it adds.
func writeToLayout(ctx context.Context, lw *layoutWrite, tag string, p Artifact, t *tracker, jobs int) error {
	dir := lw.dir
	if err := initLayout(dir); err != nil {
		return err
	}
	if err := writeLayoutArtifact(ctx, lw, p, t, jobs); err != nil {
		return err
	}
	d, err := p.Digest()
	if err != nil {
		return err
	}
	raw, err := p.RawManifest()
	if err != nil {
		return err
	}
	mt, err := p.MediaType()
	if err != nil {
		return err
	}
	desc := v1.Descriptor{MediaType: mt, Digest: d, Size: int64(len(raw))}
	if img, ok := p.(*prepared); ok {
		// The platform lets readers of the layout choose without opening
		// the config (as an index entry would).
		if cf, err := img.ConfigFile(); err == nil && cf.OS != "" {
			desc.Platform = cf.Platform()
		}
	}
	if tag != "" {
		desc.Annotations = map[string]string{refNameAnnotation: tag}
	}
	lw.wroteIndex = true // (also when the write fails after its rename)
	return addToLayoutIndex(dir, desc)
}

// notLayoutDir is the error for an OCI layout destination that is a file.
func notLayoutDir(dir string) error {
	return fmt.Errorf("%w: %s is a file; an OCI layout is a directory (a docker-save archive is docker-archive:%s)", ErrNotLayout, dir, dir)
}

// initLayout makes dir an OCI layout if it is not one: missing or empty
// directories are set up; a directory with other files is refused.
func initLayout(dir string) error {
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return notLayoutDir(dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err == nil {
		if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
			return atomicfile.Write(filepath.Join(dir, "oci-layout"), []byte(ociLayoutFile), 0o644)
		}
		return nil
	}
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	case err != nil:
		return err
	case len(ents) > 0:
		return fmt.Errorf("%s: %w (it has files but no index.json)", dir, ErrNotLayout)
	}
	if err := atomicfile.Write(filepath.Join(dir, "oci-layout"), []byte(ociLayoutFile), 0o644); err != nil {
		return err
	}
	empty := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{}}
	b, err := json.Marshal(empty)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, "index.json"), b, 0o644)
}

// writeLayoutArtifact writes the blobs of p, children first, its manifest
// last, so a layout never names a manifest whose blobs are missing.
func writeLayoutArtifact(ctx context.Context, lw *layoutWrite, p Artifact, t *tracker, jobs int) error {
	dir := lw.dir
	writeBlob := func(ctx context.Context, dir string, d v1.Hash, size int64, rc io.ReadCloser) error {
		added, err := writeNewBlob(ctx, dir, d, size, rc)
		if added {
			lw.addBlob(d)
		}
		return err
	}
	switch p := p.(type) {
	case *preparedIndex:
		for _, c := range p.children {
			if err := writeLayoutArtifact(ctx, lw, c.(Artifact), t, jobs); err != nil {
				return err
			}
		}
		d, err := p.Digest()
		if err != nil {
			return err
		}
		return writeBlob(ctx, dir, d, int64(len(p.raw)), io.NopCloser(bytes.NewReader(p.raw)))
	case *prepared:
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(jobs)
		left := map[v1.Hash]bool{}
		for _, d := range p.foreign {
			left[d.Digest] = true
		}
		for i, l := range p.layers {
			desc := p.m.Layers[i]
			if left[desc.Digest] {
				continue // left out; the tracker says ActionForeign
			}
			g.Go(func() error {
				if blobExists(dir, desc.Digest, desc.Size) {
					return nil
				}
				rc, err := l.Compressed()
				if err != nil {
					return fmt.Errorf("layer %s: %w", desc.Digest, err)
				}
				if err := writeBlob(gctx, dir, desc.Digest, desc.Size, rc); err != nil {
					return fmt.Errorf("layer %s: %w", desc.Digest, err)
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		cfg, err := p.RawConfigFile()
		if err != nil {
			return fmt.Errorf("config: %w", err)
		}
		if err := writeBlob(ctx, dir, p.m.Config.Digest, p.m.Config.Size, io.NopCloser(bytes.NewReader(cfg))); err != nil {
			return fmt.Errorf("config %s: %w", p.m.Config.Digest, err)
		}
		d, err := p.Digest()
		if err != nil {
			return err
		}
		return writeBlob(ctx, dir, d, int64(len(p.raw)), io.NopCloser(bytes.NewReader(p.raw)))
	}
	return fmt.Errorf("%T cannot be written", p)
}

func blobPath(dir string, d v1.Hash) string {
	return filepath.Join(dir, "blobs", d.Algorithm, d.Hex)
}

func blobExists(dir string, d v1.Hash, size int64) bool {
	fi, err := os.Stat(blobPath(dir, d))
	return err == nil && fi.Mode().IsRegular() && fi.Size() == size
}

// writeBlob writes the blob d of size bytes from rc (closed) into the
// layout: to a temporary file, checked against d and size, then renamed
// into place, so a blob file is always complete. A blob already there is
// kept.
func writeBlob(ctx context.Context, dir string, d v1.Hash, size int64, rc io.ReadCloser) error {
	_, err := writeNewBlob(ctx, dir, d, size, rc)
	return err
}

// writeNewBlob is writeBlob that also says whether it added the blob (false:
// it was there already, or the write failed).
func writeNewBlob(ctx context.Context, dir string, d v1.Hash, size int64, rc io.ReadCloser) (bool, error) {
	defer rc.Close()
	if d.Algorithm != "sha256" {
		return false, fmt.Errorf("digest %s: only sha256 is supported", d)
	}
	if blobExists(dir, d, size) {
		return false, nil
	}
	bdir := filepath.Join(dir, "blobs", d.Algorithm)
	if err := os.MkdirAll(bdir, 0o755); err != nil {
		return false, err
	}
	// (A temporary file of this blob that a killed write left goes.)
	f, release, err := atomicfile.CreateTemp(bdir, ".tmp-"+d.Hex[:12]+"-")
	if err != nil {
		return false, err
	}
	defer release()
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return false, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), ctxio.Reader(ctx, rc))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != d.Hex || (size >= 0 && n != size) {
		// The source's blob is damaged: say so, with both sides.
		return false, fmt.Errorf("blob %s: %w: the source gave %d bytes hashing to sha256:%s, its descriptor says %d bytes hashing to %s", d, ErrDigestMismatch, n, got, size, d)
	}
	if err := os.Rename(tmp, blobPath(dir, d)); err != nil {
		return false, err
	}
	return true, nil
}

// addToLayoutIndex adds desc to the layout's index.json: an entry of the
// same ref.name (or, unnamed, the same digest without a name) is replaced;
// every other entry is kept.
func addToLayoutIndex(dir string, desc v1.Descriptor) error {
	path := filepath.Join(dir, "index.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	tag := desc.Annotations[refNameAnnotation]
	kept := im.Manifests[:0]
	for _, m := range im.Manifests {
		name := m.Annotations[refNameAnnotation]
		if (tag != "" && name == tag) || (tag == "" && name == "" && m.Digest == desc.Digest) {
			continue
		}
		kept = append(kept, m)
	}
	im.Manifests = append(kept, desc)
	if im.SchemaVersion == 0 {
		im.SchemaVersion = 2
	}
	if im.MediaType == "" {
		im.MediaType = types.OCIImageIndex
	}
	out, err := json.Marshal(im)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, out, 0o644)
}
