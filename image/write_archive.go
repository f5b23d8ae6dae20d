package image

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
//
// The Result is the first image's manifest digest with the blobs of every
// image; WriteArchiveEach gives one Result per image.
func WriteArchive(ctx context.Context, path string, images []NamedImage, opts WriteOptions) (*Result, error) {
	w, err := writeArchiveFile(ctx, path, images, opts)
	if err != nil {
		return nil, err
	}
	return result(w.dst.String(), w.preps[0], w.srcDigests[0], w.t)
}

// WriteArchiveEach is WriteArchive that reports every image: one Result
// per image, in the order given, each with its destination
// (docker-archive:FILE:NAME), its manifest digest and its own layer blobs.
func WriteArchiveEach(ctx context.Context, path string, images []NamedImage, opts WriteOptions) ([]*Result, error) {
	w, err := writeArchiveFile(ctx, path, images, opts)
	if err != nil {
		return nil, err
	}
	out := make([]*Result, len(images))
	for i, ni := range images {
		dst := w.dst
		dst.Tag = ni.Name
		r, err := result(dst.String(), w.preps[i], w.srcDigests[i], w.t)
		if err != nil {
			return nil, fmt.Errorf("write %s: image %d: %w", w.dst, i, err)
		}
		if r.Blobs, r.Notes, err = ownBlobs(w.preps[i], r.Blobs, r.Notes); err != nil {
			return nil, fmt.Errorf("write %s: image %d: %w", w.dst, i, err)
		}
		out[i] = r
	}
	return out, nil
}

// ownBlobs keeps of an archive's blobs those that are layers of p, and of
// its notes those that name one of them or no blob at all.
func ownBlobs(p *prepared, blobs []BlobResult, notes []string) ([]BlobResult, []string, error) {
	mine := map[string]bool{}
	for _, l := range p.layers {
		d, err := l.Digest()
		if err != nil {
			return nil, nil, err
		}
		mine[d.String()] = true
	}
	var kept []BlobResult
	for _, b := range blobs {
		if mine[b.Digest] {
			kept = append(kept, b)
		}
	}
	var keptNotes []string
	for _, n := range notes {
		keep := true // a note that names no blob is about every image
		for _, b := range blobs {
			if strings.Contains(n, b.Digest) {
				if keep = mine[b.Digest]; keep {
					break
				}
			}
		}
		if keep {
			keptNotes = append(keptNotes, n)
		}
	}
	return kept, keptNotes, nil
}

// archiveWrite is what writeArchiveFile wrote: the destination, and per image
// the prepared image and the digest of the image as given.
type archiveWrite struct {
	dst        Location
	preps      []*prepared
	srcDigests []v1.Hash
	t          *tracker
}

// writeArchiveFile writes the archive of WriteArchive.
func writeArchiveFile(ctx context.Context, path string, images []NamedImage, opts WriteOptions) (*archiveWrite, error) {
	dst := Location{Kind: KindDockerArchive, Path: path}
	if len(images) == 1 {
		dst.Tag = images[0].Name
	}
	if len(images) == 0 {
		return nil, fmt.Errorf("write %s: no image", dst)
	}
	if err := checkArchivePath(path); err != nil {
		return nil, fmt.Errorf("write %s: %w", dst, err)
	}
	t := newTracker(ctx, opts.Progress)
	t.verify = true // the archive writer checks no digest: a damaged blob fails here
	refs := map[name.Reference]v1.Image{}
	w := &archiveWrite{t: t}
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
		src, err := ni.Image.Digest()
		if err != nil {
			return nil, fmt.Errorf("write %s: %w", dst, err)
		}
		w.preps = append(w.preps, p)
		w.srcDigests = append(w.srcDigests, src)
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
	w.dst = dst
	return w, nil
}

// checkArchivePath refuses, before anything is read or written, a
// docker-archive path that cannot become the archive: a directory (the
// rename at the end failed with "file exists" after the whole write), or
// one in a directory that does not exist (the error named the temporary
// file).
func checkArchivePath(path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%w: %s is a directory; a docker-archive is one file (docker-archive:%s)", ErrBadLocation, path, filepath.Join(path, "NAME.tar"))
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%w: the directory of %s: %w (create it first)", ErrBadLocation, path, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%w: the directory of %s: %s is not a directory", ErrBadLocation, path, dir)
	}
	return nil
}
