package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/winlayer/winlayer/internal/decompress"
)

// archiveFile is a docker-archive opened for reading its members in place:
// the tar is read once to find where each member's data is, and members
// are then read as sections of the file (several at once).
type archiveFile struct {
	f       *os.File
	members map[string]archiveMember
}

type archiveMember struct {
	off, size int64
	link      string // a symlink or hard link's target (docker's shared layers)
}

func openArchiveFile(p string) (*archiveFile, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	a := &archiveFile{f: f, members: map[string]archiveMember{}}
	tr := tar.NewReader(f)
	// The member read last and where it ends, for a truncated archive.
	last, lastEnd, lastSize := "", int64(0), int64(0)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			where := "in its first tar header"
			if fi, serr := f.Stat(); last != "" && serr == nil && fi.Size() < lastEnd {
				where = fmt.Sprintf("inside member %s, %d of its %d bytes there", last, fi.Size()-(lastEnd-lastSize), lastSize)
			} else if last != "" {
				where = "in the tar header after member " + last
			}
			f.Close()
			return nil, fmt.Errorf("%w: the archive is cut short (it ends %s): the file is incomplete; copy or save it again: %w", ErrBadImage, where, err)
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("not a docker-archive tar: %w", err)
		}
		off, err := f.Seek(0, io.SeekCurrent)
		if err != nil {
			f.Close()
			return nil, err
		}
		last, lastEnd, lastSize = h.Name, off+h.Size, h.Size
		for k := range h.PAXRecords {
			if strings.HasPrefix(k, "GNU.sparse.") {
				// Its size is the expanded one, not what the archive holds.
				f.Close()
				return nil, fmt.Errorf("member %s: %w: a sparse file", h.Name, ErrBadImage)
			}
		}
		m := archiveMember{off: off, size: h.Size}
		switch h.Typeflag {
		case tar.TypeSymlink:
			m.link = path.Join(path.Dir(path.Clean(h.Name)), h.Linkname)
		case tar.TypeLink:
			m.link = path.Clean(h.Linkname)
		case tar.TypeReg:
		default:
			continue
		}
		a.members[path.Clean(h.Name)] = m
	}
	return a, nil
}

// Close closes the archive file.
func (a *archiveFile) Close() error { return a.f.Close() }

// open returns member name's content, following links within the archive.
func (a *archiveFile) open(name string) (*io.SectionReader, error) {
	name = path.Clean(name)
	for range 16 {
		m, ok := a.members[name]
		if !ok {
			return nil, fmt.Errorf("%s: %w", name, os.ErrNotExist)
		}
		if m.link == "" {
			return io.NewSectionReader(a.f, m.off, m.size), nil
		}
		name = m.link
	}
	return nil, fmt.Errorf("%s: too many links", name)
}

// describe returns the compression (by magic bytes), digest and size of
// member name.
func (a *archiveFile) describe(name string) (Compression, v1.Hash, int64, error) {
	r, err := a.open(name)
	if err != nil {
		return "", v1.Hash{}, 0, err
	}
	var magic [4]byte
	n, _ := r.ReadAt(magic[:], 0)
	comp := Compression(decompress.Detect(magic[:n]))
	h, size, err := v1.SHA256(r)
	return comp, h, size, err
}

func (a *archiveFile) readAll(name string) ([]byte, error) {
	r, err := a.open(name)
	if err != nil {
		return nil, err
	}
	if r.Size() > 64<<20 {
		return nil, fmt.Errorf("%s: %d bytes is too large for a config", name, r.Size())
	}
	return io.ReadAll(r)
}

// loadArchive loads the images of a docker-archive source. The archive
// carries no manifest: one is written from what the layers turn out to be
// (see generateManifest), and the image is known by its tags and by that
// manifest's digest.
func (s *Store) loadArchive(ctx context.Context, src *Source, cfg Config, opts PullOptions) ([]*PullResult, error) {
	verb := opts.verb(src.Location)
	if len(src.Archive) == 0 {
		return nil, fmt.Errorf("%s %s: %w", verb, src.Location, ErrNotFound)
	}
	a, err := openArchiveFile(src.Location.Path)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", verb, src.Location, err)
	}
	defer a.Close()
	var out []*PullResult
	for _, ai := range src.Archive {
		what := fmt.Sprintf("%s (@%d)", src.Location, ai.Index)
		if len(ai.Entry.RepoTags) > 0 {
			what = fmt.Sprintf("%s (%s)", src.Location, ai.Entry.RepoTags[0])
		}
		p := &plan{verb: verb, what: what, source: src.Location.String()}
		for _, t := range ai.Entry.RepoTags {
			p.refs = append(p.refs, CanonicalRef(t))
		}
		if p.configRaw, err = a.readAll(ai.Entry.Config); err != nil {
			return out, fmt.Errorf("%s %s: config: %w", verb, what, err)
		}
		cf, err := v1.ParseConfigFile(bytesReader(p.configRaw))
		if err != nil {
			return out, fmt.Errorf("%s %s: config: %w: %w", verb, what, ErrBadImage, err)
		}
		if len(cf.RootFS.DiffIDs) != len(ai.Entry.Layers) {
			return out, fmt.Errorf("%s %s: %w: manifest.json lists %d layers, the config %d rootfs.diff_ids", verb, what, ErrBadImage, len(ai.Entry.Layers), len(cf.RootFS.DiffIDs))
		}
		descs := make([]v1.Descriptor, len(ai.Entry.Layers))
		files := map[v1.Hash]string{}
		for i, l := range ai.Entry.Layers {
			d := cf.RootFS.DiffIDs[i]
			files[d] = l
			if fd, ok := ai.Entry.LayerSources[d]; ok {
				descs[i] = fd
			}
		}
		if err := s.planLayers(p, descs, nil); err != nil {
			return out, err
		}
		for _, j := range p.layers {
			file := files[j.diffID]
			j.describe = func() (Compression, v1.Hash, int64, error) {
				comp, h, size, err := a.describe(file)
				if err == nil && comp != CompressionNone && s.keepBlobs && !s.hasBlob(h) {
					err = s.keepMember(a, file, h)
				}
				return comp, h, size, err
			}
			foreign := j.desc
			j.want = v1.Hash{} // the archive holds the tar, not the blob the descriptor names
			j.open = func(ctx context.Context, _ v1.Descriptor) (io.ReadCloser, error) {
				r, err := a.open(file)
				if err == nil {
					return io.NopCloser(r), nil
				}
				if foreign.Digest.Hex == "" || !IsForeign(foreign.MediaType) {
					return nil, fmt.Errorf("layer file %s: %w", file, err)
				}
				// A foreign layer left out of the archive: its URLs.
				j.want = foreign.Digest
				return withForeign(cfg, opts.NoForeignURLs, func(context.Context, v1.Descriptor) (io.ReadCloser, error) {
					return nil, fmt.Errorf("%w: layer file %s: %w", errBlobNotFound, file, err)
				})(ctx, foreign)
			}
		}
		r, err := s.run(ctx, p, cfg, opts)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// keepMember stores archive member name as the blob of digest d.
func (s *Store) keepMember(a *archiveFile, name string, d v1.Hash) error {
	r, err := a.open(name)
	if err != nil {
		return err
	}
	w, err := s.newBlobWriter()
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.abort()
		return err
	}
	return w.commit(d)
}
