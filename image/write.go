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
	if dst.Kind == KindDockerArchive {
		img, ok := a.(v1.Image)
		if !ok {
			return nil, fmt.Errorf("write %s: %w; choose one platform (--platform) or write to oci:DIR", dst, ErrIndexToArchive)
		}
		return WriteArchive(ctx, dst.Path, []NamedImage{{Name: dst.Tag, Image: img}}, opts)
	}
	t := newTracker(ctx, opts.Progress)
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
		return nil, fmt.Errorf("write %s: %w", dst, err)
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
		return nil, fmt.Errorf("write %s: %w", dst, err)
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
	case KindOCI:
		err = writeToLayout(ctx, dst.Path, dst.Tag, p, t, cfg.jobs())
	default:
		err = fmt.Errorf("%w: nothing to write to", ErrBadLocation)
	}
	if err != nil {
		if u := t.unfinished(); u != "" {
			return nil, fmt.Errorf("write %s: sending %s: %w", dst, u, err)
		}
		return nil, fmt.Errorf("write %s: %w", dst, err)
	}
	t.finish()
	return result(dst.String(), p, srcDigest, t)
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
