package image

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ErrIndexToArchive is returned when an image index is written to a
// docker-archive, which holds images only: choose a platform.
var ErrIndexToArchive = errors.New("a docker-archive holds images, not an index")

// Artifact is what Write writes: a v1.Image or a v1.ImageIndex.
type Artifact interface {
	MediaType() (types.MediaType, error)
	Digest() (v1.Hash, error)
	RawManifest() ([]byte, error)
}

// WriteOptions say how Write treats layers.
type WriteOptions struct {
	// IncludeForeign copies foreign / non-distributable layers too: to a
	// registry as ordinary layers without urls (so registries with
	// distribution's default validation accept them), which changes the
	// manifest digest; into an OCI layout with their descriptors kept.
	// Without it they are left out and their descriptors kept, as Docker
	// does. A docker-archive always carries their bytes (docker's format
	// needs them) and lists them under LayerSources.
	IncludeForeign bool
	// MountFrom is the repository the image came from. When the destination
	// is another repository of the same registry, blobs are mounted from it
	// rather than uploaded.
	MountFrom *name.Repository
	// Progress, if set, receives Events (from several goroutines).
	Progress func(WriteEvent)
}

// Result is what Write did.
type Result struct {
	// Destination is where the artifact went, as ParseLocation reads it.
	Destination string `json:"destination"`
	// Digest is the manifest digest written (the manifest or index the
	// destination names).
	Digest string `json:"digest"`
	// MediaType is the media type of that manifest.
	MediaType string `json:"media_type"`
	// SourceDigest is the digest of the manifest as given; it differs from
	// Digest only when a layer descriptor had to change (IncludeForeign).
	SourceDigest string `json:"source_digest"`
	// Blobs are the layer blobs and what happened to each.
	Blobs []BlobResult `json:"blobs"`
	// Notes are what the user should know (foreign layers left out,
	// digests that changed).
	Notes []string `json:"notes,omitempty"`
}

// Write writes an image or index a to dst:
//
//   - a registry reference: blobs the registry has are not sent again, blobs
//     of opts.MountFrom (or of a registry source on the same registry) are
//     mounted, uploads run cfg.Jobs at once; the manifest is pushed as
//     given, so an unmodified image keeps its digest;
//   - oci:DIR[:TAG]: the blobs and the manifest go into the layout (created
//     if missing), and index.json gains the entry, named TAG by the
//     org.opencontainers.image.ref.name annotation; an entry of the same
//     name is replaced, other entries are kept;
//   - docker-archive:FILE[:REF]: a docker save archive of the image, tagged
//     REF (see WriteArchive for several images).
//
// Foreign / non-distributable layers are left out unless
// opts.IncludeForeign (see WriteOptions). A registry that refuses the
// manifest because of foreign urls gives ErrForeignURLsRefused.
func Write(ctx context.Context, dst Location, a Artifact, cfg Config, opts WriteOptions) (*Result, error) {
	switch dst.Kind {
	case KindDockerArchive:
		img, ok := a.(v1.Image)
		if !ok {
			return nil, fmt.Errorf("write %s: %w; choose one platform (--platform) or write to oci:DIR", dst, ErrIndexToArchive)
		}
		return WriteArchive(ctx, dst.Path, []NamedImage{{Name: dst.Tag, Image: img}}, opts)
	case KindOCI:
		rs, err := writeLayoutAll(ctx, dst.Path, []namedArtifact{{dst.Tag, a}}, cfg, opts)
		if err != nil {
			return nil, err
		}
		return rs[0], nil
	}
	t := newTracker(ctx, opts.Progress)
	p, srcDigest, err := prepareArtifact(dst, a, t, opts)
	if err != nil {
		return nil, err
	}
	switch dst.Kind {
	case KindRegistry:
		t.confirmByTransport = true
		inner := cfg.Transport
		if inner == nil {
			inner = remote.DefaultTransport
		}
		cfg.Transport = confirmTransport{inner: inner, t: t}
		err = writeRegistry(ctx, dst.Ref, p, cfg)
	default:
		err = fmt.Errorf("%w: nothing to write to", ErrBadLocation)
	}
	if err != nil {
		return nil, writeError(dst, t, err)
	}
	t.finish()
	return result(dst.String(), p, srcDigest, t)
}

// writeError wraps the error of a write to dst, naming the layers it was
// sending.
func writeError(dst Location, t *tracker, err error) error {
	if u := t.unfinished(); u != "" {
		return fmt.Errorf("write %s: sending %s: %w", dst, u, err)
	}
	return fmt.Errorf("write %s: %w", dst, err)
}

// prepareArtifact prepares a (an image or an index) for dst: foreign
// layers as opts and the destination want them, mounts on the registry.
// It returns the prepared artifact and the digest of a as given.
func prepareArtifact(dst Location, a Artifact, t *tracker, opts WriteOptions) (Artifact, v1.Hash, error) {
	po := prepareOptions{includeForeign: opts.IncludeForeign}
	if dst.Kind == KindRegistry {
		po.hideForeign, po.convertForeign = true, true
		if opts.MountFrom != nil && dst.Ref != nil && opts.MountFrom.RegistryStr() == dst.Ref.Context().RegistryStr() &&
			opts.MountFrom.RepositoryStr() != dst.Ref.Context().RepositoryStr() {
			po.mountFrom = opts.MountFrom
		}
	}
	srcDigest, err := a.Digest()
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("write %s: %w", dst, err)
	}
	var p Artifact
	switch a := a.(type) {
	case v1.ImageIndex:
		p, err = prepareIndex(a, t, po, 0)
	case v1.Image:
		p, err = prepareImage(a, t, po)
	default:
		err = fmt.Errorf("%T is neither an image nor an index", a)
	}
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("write %s: %w", dst, err)
	}
	return p, srcDigest, nil
}

// namedArtifact is an image or index and its ref.name in a layout.
type namedArtifact struct {
	name string
	a    Artifact
}

// WriteLayout writes images into the OCI layout dir (created if missing),
// each named by its Name in index.json (see Write), and returns one Result
// per image. It is all or nothing: on any failure (a damaged source blob,
// a cancel) a directory it created is removed, and an existing layout gets
// its index.json back as it was and loses the blobs this write added that
// the index does not reference; blobs that were there before stay.
func WriteLayout(ctx context.Context, dir string, images []NamedImage, cfg Config, opts WriteOptions) ([]*Result, error) {
	arts := make([]namedArtifact, len(images))
	for i, ni := range images {
		arts[i] = namedArtifact{ni.Name, ni.Image}
	}
	return writeLayoutAll(ctx, dir, arts, cfg, opts)
}

// writeLayoutAll is WriteLayout for images and indexes.
func writeLayoutAll(ctx context.Context, dir string, arts []namedArtifact, cfg Config, opts WriteOptions) ([]*Result, error) {
	lw, err := beginLayout(dir)
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", Location{Kind: KindOCI, Path: dir}, err)
	}
	var out []*Result
	for i, na := range arts {
		dst := Location{Kind: KindOCI, Path: dir, Tag: na.name}
		t := newTracker(ctx, opts.Progress)
		p, srcDigest, err := prepareArtifact(dst, na.a, t, opts)
		if err == nil {
			if err = writeToLayout(ctx, lw, na.name, p, t, cfg.jobs()); err != nil {
				err = writeError(dst, t, err)
			}
		}
		var r *Result
		if err == nil {
			t.finish()
			r, err = result(dst.String(), p, srcDigest, t)
		}
		if err != nil && len(arts) > 1 && na.name == "" {
			err = fmt.Errorf("image %d of %d (unnamed): %w", i+1, len(arts), err)
		}
		if err != nil {
			if uerr := lw.undo(); uerr != nil {
				err = fmt.Errorf("%w (undoing the write: %v)", err, uerr)
			}
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func result(dst string, p Artifact, src v1.Hash, t *tracker) (*Result, error) {
	d, err := p.Digest()
	if err != nil {
		return nil, err
	}
	mt, err := p.MediaType()
	if err != nil {
		return nil, err
	}
	r := &Result{Destination: dst, Digest: d.String(), MediaType: string(mt), SourceDigest: src.String(), Blobs: t.results()}
	t.mu.Lock()
	r.Notes = append(r.Notes, t.notes...)
	t.mu.Unlock()
	return r, nil
}

// writeRegistry pushes p (a prepared image or index) to ref.
func writeRegistry(ctx context.Context, ref name.Reference, p Artifact, cfg Config) error {
	if ref == nil {
		return fmt.Errorf("%w: no registry reference", ErrBadLocation)
	}
	err := remote.Push(ref, p, cfg.RemoteOptions(ctx)...)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return translateManifestError(err, urlsOf(p))
}

// urlsOf lists the layer descriptors with urls of a prepared artifact.
func urlsOf(a Artifact) []v1.Descriptor {
	switch p := a.(type) {
	case *prepared:
		return p.urls
	case *preparedIndex:
		var out []v1.Descriptor
		for _, c := range p.children {
			out = append(out, urlsOf(c.(Artifact))...)
		}
		return out
	}
	return nil
}
