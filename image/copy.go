package image

import (
	"context"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// CopyOptions say what Copy copies.
type CopyOptions struct {
	// AllPlatforms copies a whole index (every platform, digests kept) and
	// every image of a docker-archive; otherwise one Windows image is chosen
	// with Platform (see Source.Resolve).
	AllPlatforms bool
	// Platform is the platform to choose when not AllPlatforms.
	Platform Platform
	// Explicit says whether the user gave Platform (see Select).
	Explicit bool
	// Write says how layers are written (foreign layers, progress).
	Write WriteOptions
}

// Copy copies an image from src to dst blob for blob, without the store:
// manifests, configs and compressed layers go over as they are, so digests
// are preserved (except where a docker-archive is involved for images whose
// manifest it cannot carry: OCI media types or zstd layers come out of an
// archive as Docker schema 2). Between registries of the same host, blobs
// are mounted rather than copied.
//
// With opts.AllPlatforms an index is copied whole (a docker-archive
// destination refuses it: ErrIndexToArchive) and a docker-archive source
// with several images goes whole into a docker-archive destination;
// otherwise the Windows image for opts.Platform is chosen and copied alone.
func Copy(ctx context.Context, src, dst Location, cfg Config, opts CopyOptions) (*Result, error) {
	res, err := CopyEach(ctx, src, dst, cfg, opts)
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// CopyEach is Copy that reports every image it wrote: one Result for an
// image or an index, and for a multi-image docker-archive copied whole into
// another (AllPlatforms) one per image name, in the archive's order, each
// with its destination (docker-archive:FILE:NAME), its manifest digest and
// its own layer blobs, as WriteArchiveEach.
func CopyEach(ctx context.Context, src, dst Location, cfg Config, opts CopyOptions) ([]*Result, error) {
	s, err := Open(ctx, src, cfg)
	if err != nil {
		return nil, fmt.Errorf("copy: %w", err)
	}
	wo := opts.Write
	if !opts.AllPlatforms {
		r, err := s.Resolve(opts.Platform, opts.Explicit)
		if err != nil {
			return nil, fmt.Errorf("copy: %w", err)
		}
		return copyResult(Write(ctx, dst, r.Image, cfg, wo))
	}
	switch {
	case s.Index != nil:
		return copyResult(Write(ctx, dst, s.Index, cfg, wo))
	case s.Image != nil:
		return copyResult(Write(ctx, dst, s.Image, cfg, wo))
	case len(s.Archive) > 1 && dst.Kind == KindDockerArchive:
		var imgs []NamedImage
		for _, a := range s.Archive {
			if len(a.Entry.RepoTags) == 0 {
				return nil, fmt.Errorf("copy %s: image @%d has no tag: %w", src, a.Index, errors.ErrUnsupported)
			}
			img, err := a.Image()
			if err != nil {
				return nil, fmt.Errorf("copy %s: image @%d: %w", src, a.Index, err)
			}
			for _, tag := range a.Entry.RepoTags {
				imgs = append(imgs, NamedImage{Name: tag, Image: img})
			}
		}
		if dst.Tag != "" {
			return nil, fmt.Errorf("copy %s to %s: several images cannot take one name; leave :REF out", src, dst)
		}
		res, err := WriteArchiveEach(ctx, dst.Path, imgs, wo)
		if err != nil {
			return nil, fmt.Errorf("copy: %w", err)
		}
		return res, nil
	}
	// Resolve names the images of a multi-image archive.
	_, err = s.Resolve(opts.Platform, opts.Explicit)
	if err == nil {
		err = fmt.Errorf("%w", ErrSeveralImages)
	}
	return nil, fmt.Errorf("copy to %s: %w", dst, err)
}

func copyResult(r *Result, err error) ([]*Result, error) {
	if err != nil {
		return nil, fmt.Errorf("copy: %w", err)
	}
	return []*Result{r}, nil
}

// go-containerregistry's images and indexes are Artifacts.
var (
	_ Artifact = v1.Image(nil)
	_ Artifact = v1.ImageIndex(nil)
)
