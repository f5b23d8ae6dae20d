package image

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/winlayer/winlayer/internal/atomicfile"
	"github.com/winlayer/winlayer/internal/ctxio"
)

// NamedImage is an image and the repo:tag it carries in a docker-archive
// (empty: untagged, known by its config digest).
type NamedImage struct {
	Name  string
	Image v1.Image
}

// WriteArchive writes images into a docker save archive at path (docker's
// format: manifest.json with Config, RepoTags, Layers and, for foreign
// layers, LayerSources; one file per distinct layer blob, compressed as in
// the image). The archive is written to a temporary file beside path and
// renamed into place when complete. Foreign layers are always included:
// docker's format needs their bytes.
func WriteArchive(ctx context.Context, path string, images []NamedImage, opts WriteOptions) (*Result, error) {
	dst := Location{Kind: KindDockerArchive, Path: path}
	if len(images) == 1 {
		dst.Tag = images[0].Name
	}
	if len(images) == 0 {
		return nil, fmt.Errorf("write %s: no image", dst)
	}
	t := newTracker(ctx, opts.Progress)
	refs := map[name.Reference]v1.Image{}
	var first *prepared
	var firstDigest v1.Hash
	for _, ni := range images {
		// Foreign layers go into the archive (as ordinary files) and keep
		// their descriptors, which the writer lists under LayerSources.
		p, err := prepareImage(ni.Image, t, prepareOptions{includeForeign: false})
		if err != nil {
			return nil, fmt.Errorf("write %s: %w", dst, err)
		}
		for _, d := range p.foreign {
			t.set(d.Digest, ActionCopied)
			if d.MediaType.IsDistributable() {
				// go-containerregistry's writer lists under LayerSources
				// only the foreign media types it knows (not zstd ones).
				t.note(fmt.Sprintf("layer %s (%s): carried as an ordinary layer, not listed under LayerSources; loading the archive gives a different manifest", d.Digest, d.MediaType))
			}
		}
		var ref name.Reference
		if ni.Name != "" {
			tag, err := name.NewTag(ni.Name)
			if err != nil {
				return nil, fmt.Errorf("write %s: image name %q: %w", dst, ni.Name, err)
			}
			ref = tag
		} else {
			cn, err := p.ConfigName()
			if err != nil {
				return nil, fmt.Errorf("write %s: %w", dst, err)
			}
			// An untagged entry: a digest reference gives no RepoTags.
			ref, err = name.NewDigest("untagged@" + cn.String())
			if err != nil {
				return nil, fmt.Errorf("write %s: %w", dst, err)
			}
		}
		if _, dup := refs[ref]; dup {
			return nil, fmt.Errorf("write %s: image name %q given twice", dst, ni.Name)
		}
		refs[ref] = p
		if first == nil {
			first = p
			firstDigest, _ = ni.Image.Digest()
		}
	}
	// Drop the "foreign, not copied" note: the archive carries them.
	t.mu.Lock()
	notes := t.notes[:0]
	for _, n := range t.notes {
		if !strings.Contains(n, "not copied") {
			notes = append(notes, n)
		}
	}
	t.notes = notes
	t.mu.Unlock()

	err := atomicfile.WriteFrom(path, 0o644, func(w io.Writer) error {
		return tarball.MultiRefWrite(refs, ctxio.Writer(ctx, w))
	})
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		if u := t.unfinished(); u != "" {
			return nil, fmt.Errorf("write %s: writing %s: %w", dst, u, err)
		}
		return nil, fmt.Errorf("write %s: %w", dst, err)
	}
	t.finish()
	return result(dst.String(), first, firstDigest, t)
}
