package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ErrBlobDropped is returned for a stored image layer whose compressed
// blob was not kept (WithoutLayerBlobs): the layer must be recompressed,
// and the manifest digest changes.
var ErrBlobDropped = errors.New("the compressed layer blob was not kept")

// StoredImage is an image of the store as a go-containerregistry image.
type StoredImage struct {
	// Image is the image: the stored manifest and config, the kept blobs as
	// layers (an uncompressed layer's blob is its export) — or, when
	// Recompressed, a new manifest over recompressed layer exports.
	Image v1.Image
	// Info is the stored record and its references.
	Info ImageInfo
	// Recompressed says that some layer blobs were not kept: Image is a
	// new manifest whose layers are the exports recompressed, so its digest
	// differs from Info.ManifestDigest.
	Recompressed bool
}

// Image returns the stored image named n (see Lookup) as a v1.Image for
// push and save; see OpenImage for what happens when blobs were dropped.
func (s *Store) Image(n string) (v1.Image, error) {
	si, err := s.OpenImage(n, CompressionGzip)
	if err != nil {
		return nil, err
	}
	return si.Image, nil
}

// OpenImage returns the stored image named n. With every layer blob kept
// (or an uncompressed layer, whose blob the export reproduces), the image
// has the stored manifest and its digest. Otherwise the layers are
// recompressed with comp (gzip or zstd) and the manifest is new; then
// Recompressed is set so that the caller can say that digests change.
// Foreign layers keep their descriptors (urls included) either way.
func (s *Store) OpenImage(n string, comp Compression) (*StoredImage, error) {
	info, err := s.Lookup(n)
	if err != nil {
		return nil, err
	}
	si := &StoredImage{Info: *info}
	mraw, err := s.readBlob(mustHash(info.ManifestDigest))
	if err != nil {
		return nil, fmt.Errorf("image %s: manifest: %w", n, err)
	}
	craw, err := s.readBlob(mustHash(info.ConfigDigest))
	if err != nil {
		return nil, fmt.Errorf("image %s: config: %w", n, err)
	}
	core := &storedCore{s: s, rec: &si.Info.Record, manifest: mraw, config: craw}
	missing := false
	for _, l := range info.Layers {
		if _, err := core.layer(l); errors.Is(err, ErrBlobDropped) {
			missing = true
		} else if err != nil {
			return nil, fmt.Errorf("image %s: %w", n, err)
		}
	}
	if !missing {
		img, err := partial.CompressedToImage(core)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", n, err)
		}
		si.Image = img
		return si, nil
	}
	img, err := s.recompressed(&si.Info.Record, craw, comp)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", n, err)
	}
	si.Image, si.Recompressed = img, true
	return si, nil
}

// recompressed builds a new image over the layer exports.
func (s *Store) recompressed(rec *Record, config []byte, comp Compression) (v1.Image, error) {
	cf, err := v1.ParseConfigFile(bytesReader(config))
	if err != nil {
		return nil, err
	}
	img := empty.Image
	oci := types.MediaType(rec.ManifestMediaType) == types.OCIManifestSchema1
	if oci {
		img = mutate.MediaType(img, types.OCIManifestSchema1)
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	}
	core := &storedCore{s: s, rec: rec}
	for i, l := range rec.Layers {
		var add v1.Layer
		if IsForeign(types.MediaType(l.MediaType)) || s.hasBlob(mustHash(l.Digest)) {
			cl, err := core.layer(l)
			if err != nil {
				return nil, fmt.Errorf("layer %d: %w", i, err)
			}
			if add, err = partial.CompressedToLayer(cl); err != nil {
				return nil, fmt.Errorf("layer %d: %w", i, err)
			}
		} else {
			id := l.ID
			opener := func() (io.ReadCloser, error) { return s.layers.Export(context.Background(), id) }
			mt := types.DockerLayer
			opts := []tarball.LayerOption{}
			if comp == CompressionZstd {
				mt = types.OCILayerZStd
				opts = append(opts, tarball.WithCompression("zstd"))
			} else if oci {
				mt = types.OCILayer
			}
			opts = append(opts, tarball.WithMediaType(mt))
			if add, err = tarball.LayerFromOpener(opener, opts...); err != nil {
				return nil, fmt.Errorf("layer %d %s: %w", i, l.ID, err)
			}
		}
		if img, err = mutate.Append(img, mutate.Addendum{Layer: add, MediaType: mustMT(add)}); err != nil {
			return nil, err
		}
	}
	return mutate.ConfigFile(img, cf)
}

func mustMT(l v1.Layer) types.MediaType {
	mt, _ := l.MediaType()
	return mt
}

// mustHash parses a digest the store wrote itself.
func mustHash(s string) v1.Hash {
	h, err := v1.NewHash(s)
	if err != nil {
		return v1.Hash{}
	}
	return h
}

// storedCore is partial.CompressedImageCore over a record.
type storedCore struct {
	s                *Store
	rec              *Record
	manifest, config []byte
}

// RawConfigFile implements partial.CompressedImageCore: the stored config.
func (c *storedCore) RawConfigFile() ([]byte, error) { return c.config, nil }

// MediaType implements partial.CompressedImageCore.
func (c *storedCore) MediaType() (types.MediaType, error) {
	return types.MediaType(c.rec.ManifestMediaType), nil
}

// RawManifest implements partial.CompressedImageCore: the stored manifest.
func (c *storedCore) RawManifest() ([]byte, error) { return c.manifest, nil }

// LayerByDigest implements partial.CompressedImageCore.
func (c *storedCore) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	for _, l := range c.rec.Layers {
		if l.Digest == h.String() {
			return c.layer(l)
		}
	}
	return nil, fmt.Errorf("blob %s: not a layer of image %s", h, c.rec.ManifestDigest)
}

// layer is the stored layer l: its kept blob, else (an uncompressed
// layer, digest = DiffID) its export, else ErrBlobDropped. A foreign
// layer without its blob still describes itself (push skips it).
func (c *storedCore) layer(l LayerRecord) (*storedLayer, error) {
	d := mustHash(l.Digest)
	sl := &storedLayer{s: c.s, rec: l, digest: d}
	switch {
	case c.s.hasBlob(d):
		sl.path = c.s.blobPath(d)
	case l.Digest == l.DiffID:
		sl.export = true
	case IsForeign(types.MediaType(l.MediaType)):
	default:
		return nil, fmt.Errorf("layer %s (%s): %w", l.ID, l.Digest, ErrBlobDropped)
	}
	if !c.s.layers.Exists(l.ID) {
		return nil, fmt.Errorf("layer %s (%s) is missing from the store", l.ID, l.Digest)
	}
	return sl, nil
}

// storedLayer is partial.CompressedLayer (and Describable with urls) over
// a kept blob or a layer export.
type storedLayer struct {
	s      *Store
	rec    LayerRecord
	digest v1.Hash
	path   string // kept blob
	export bool   // the blob is the layer export
}

// Digest implements partial.CompressedLayer.
func (l *storedLayer) Digest() (v1.Hash, error) { return l.digest, nil }

// DiffID implements partial.WithDiffID.
func (l *storedLayer) DiffID() (v1.Hash, error) { return v1.NewHash(l.rec.DiffID) }

// Size implements partial.CompressedLayer.
func (l *storedLayer) Size() (int64, error) { return l.rec.Size, nil }

// MediaType implements partial.CompressedLayer.
func (l *storedLayer) MediaType() (types.MediaType, error) {
	return types.MediaType(l.rec.MediaType), nil
}

// Descriptor keeps a foreign layer's urls.
func (l *storedLayer) Descriptor() (*v1.Descriptor, error) {
	return &v1.Descriptor{MediaType: types.MediaType(l.rec.MediaType), Size: l.rec.Size, Digest: l.digest, URLs: l.rec.URLs}, nil
}

// Compressed implements partial.CompressedLayer.
func (l *storedLayer) Compressed() (io.ReadCloser, error) {
	switch {
	case l.path != "":
		return os.Open(l.path)
	case l.export:
		return l.s.layers.Export(context.Background(), l.rec.ID)
	}
	return nil, fmt.Errorf("layer %s (%s, foreign): %w", l.rec.ID, l.rec.Digest, ErrBlobDropped)
}
