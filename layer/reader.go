package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/winlayer/winlayer/backupstream"
	"github.com/winlayer/winlayer/wintar"
)

// Reader walks a layer as hcsshim's LayerReader does, in archive/tar's
// shape: [Reader.Next] returns each entry's [Header] (in the order a
// directory walk gives: parents before children, names in byte order, a
// directory's whiteouts right after it) — name, size, basic information,
// whether it is a whiteout, the name a hard link points to — and
// [Reader.Read] returns the entry's Win32 backup stream: security
// descriptor, EAs, reparse point, data (with sparse blocks for sparse
// files), alternate data streams. The caller must Close the Reader.
type Reader struct {
	ctx       context.Context // from NewReader: Next stops once it is done
	dir       string
	entries   []*Entry
	sds       [][]byte
	pos       int
	cur       *Entry
	stream    io.Reader
	open      []io.Closer
	byName    map[string]*Entry
	parents   []string
	first     map[string]string // hard-link group → tar name exported first
	root      *os.File
	linked    map[string]struct{} // files that hard links in this layer point to
	parentIdx []parentIndex
}

// NewReader opens layer id for reading. Once ctx is done, Next fails
// with its error.
func (s *Store) NewReader(ctx context.Context, id string) (*Reader, error) {
	entries, sds, err := s.Entries(ctx, id)
	if err != nil {
		return nil, err
	}
	chain, err := ReadChain(s.Dir(id))
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", id, err)
	}
	r := &Reader{ctx: ctx, dir: s.Dir(id), sds: sds, byName: map[string]*Entry{}, parents: chain, first: map[string]string{}}
	for _, e := range entries {
		r.byName[e.Name] = e
	}
	r.linked = map[string]struct{}{}
	for _, e := range entries {
		if e.Kind == KindLink {
			r.linked[r.linkRoot(e.Name)] = struct{}{}
		}
	}
	r.entries = append([]*Entry(nil), entries...)
	sort.SliceStable(r.entries, func(i, j int) bool { return walkLess(r.entries[i], r.entries[j]) })
	return r, nil
}

// walkKey splits a name into components; a whiteout sorts right after its
// directory, before the directory's children.
func walkKey(e *Entry) []string {
	parts := strings.Split(e.Name, "/")
	if e.Kind == KindTombstone {
		parts[len(parts)-1] = "\x00" + parts[len(parts)-1]
	}
	if e.Kind == KindOpaque {
		parts = append(parts, "\x00.wh..opq")
	}
	return parts
}

func walkLess(a, b *Entry) bool {
	ka, kb := walkKey(a), walkKey(b)
	for i := 0; i < len(ka) && i < len(kb); i++ {
		if ka[i] != kb[i] {
			return ka[i] < kb[i]
		}
	}
	return len(ka) < len(kb)
}

func (r *Reader) closeCurrent() {
	for _, c := range r.open {
		c.Close()
	}
	r.open, r.stream, r.cur = nil, nil, nil
}

// Header describes the entry [Reader.Next] moved to, as a tar.Header
// describes a tar entry: everything about it but its backup stream.
type Header struct {
	// Name is the entry's Windows name (backslashes). For a whiteout it is
	// what was deleted; for an opaque directory, `dir\.wh..opq`.
	Name string
	// Size is the size of the entry's data: 0 for a directory, a whiteout
	// and a hard link to a name already returned.
	Size int64
	// Info is the entry's basic information (times and attributes); the
	// zero value for a whiteout. A hard link has its file's.
	Info backupstream.FileBasicInfo
	// Whiteout is true for a whiteout: a deletion of Name from the
	// parents, or an opaque directory marker. It has no backup stream.
	Whiteout bool
	// Linkname is, for a hard link whose file was already returned under
	// another name, that name (Windows form); the entry then has no
	// backup stream. "" for an entry to be exported in full.
	Linkname string
}

// Next advances to the next entry and returns its header. It returns
// io.EOF after the last entry. Reading the backup stream of the previous
// entry is no longer possible after Next.
func (r *Reader) Next() (*Header, error) {
	r.closeCurrent()
	if r.pos >= len(r.entries) {
		return nil, io.EOF
	}
	if err := r.ctx.Err(); err != nil {
		return nil, err
	}
	e := r.entries[r.pos]
	r.pos++
	r.cur = e
	switch e.Kind {
	case KindTombstone:
		return &Header{Name: wintar.ToWindows(e.Name), Whiteout: true}, nil
	case KindOpaque:
		return &Header{Name: wintar.ToWindows(e.Name + "/.wh..opq"), Whiteout: true}, nil
	}
	h := &Header{Name: wintar.ToWindows(e.Name)}
	meta, sds := e, r.sds
	if e.Kind == KindLink {
		group := r.linkRoot(e.Name)
		link := ""
		if first, ok := r.first[group]; ok {
			link = first
		} else {
			r.first[group] = e.Name
		}
		meta, sds = r.linkMeta(group)
		info := meta.BasicInfo()
		if info == nil {
			info = &backupstream.FileBasicInfo{FileAttributes: backupstream.AttrArchive}
		}
		if link != "" {
			h.Info, h.Linkname = *info, wintar.ToWindows(link)
			return h, nil
		}
		// First member of its group here: exported in full, with the
		// target's metadata and this file's content. The names of a file
		// share its data, streams and metadata; the data is read through
		// this name's own (hard-linked) file.
		m := *meta
		m.Name = e.Name
		if m.Kind != KindFile || !m.Data {
			if st, err := os.Lstat(filepath.Join(r.dir, filepath.FromSlash(e.Name))); err == nil {
				m.Size, m.Data, m.Sparse, m.DataAttr = st.Size(), true, nil, 0
			}
		}
		meta = &m
	} else if e.Kind == KindFile && r.hasLinks(e.Name) {
		if first, ok := r.first[e.Name]; ok {
			if info := e.BasicInfo(); info != nil {
				h.Info = *info
			}
			h.Linkname = wintar.ToWindows(first)
			return h, nil
		}
		r.first[e.Name] = e.Name
	}
	if err := r.compose(meta, sds); err != nil {
		return nil, err
	}
	h.Size = meta.Size
	if info := meta.BasicInfo(); info != nil {
		h.Info = *info
	}
	return h, nil
}

// linkRoot follows hard links inside the layer to the file they share.
func (r *Reader) linkRoot(name string) string {
	for i := 0; i < 64; i++ {
		e, ok := r.byName[name]
		if !ok || e.Kind != KindLink {
			return name
		}
		name = e.Link
	}
	return name
}

func (r *Reader) hasLinks(name string) bool {
	_, ok := r.linked[name]
	return ok
}

// linkMeta returns the metadata of a hard-link group's file: from this
// layer, else from the nearest parent that has it.
func (r *Reader) linkMeta(group string) (*Entry, [][]byte) {
	if e, ok := r.byName[group]; ok && e.Kind == KindFile {
		return e, r.sds
	}
	for i, p := range r.parents {
		if r.parentIdx == nil {
			r.parentIdx = make([]parentIndex, len(r.parents))
		}
		pi := &r.parentIdx[i]
		if pi.files == nil { // read each parent's index once
			pi.files = map[string]*Entry{}
			entries, sds, err := readIndex(p)
			if err == nil {
				pi.sds = sds
				for _, e := range entries {
					if e.Kind == KindFile {
						pi.files[e.Name] = e
					}
				}
			}
		}
		if e, ok := pi.files[group]; ok {
			return e, pi.sds
		}
	}
	return &Entry{Name: group, Kind: KindFile, Attributes: backupstream.AttrArchive}, nil
}

// parentIndex is a parent layer's files, loaded when a hard link needs them.
type parentIndex struct {
	files map[string]*Entry
	sds   [][]byte
}

// compose builds the backup stream of e as a chain of readers.
func (r *Reader) compose(e *Entry, sds [][]byte) error {
	var parts []io.Reader
	add := func(b []byte) { parts = append(parts, bytes.NewReader(b)) }
	var herr error
	header := func(id backupstream.StreamID, attr uint32, size int64, name string, offset int64) {
		b, err := backupstream.AppendHeader(nil, &backupstream.Header{ID: id, Attributes: attr, Size: size, Name: name, Offset: offset})
		if err != nil && herr == nil {
			herr = fmt.Errorf("%s: %w: %w", e.Name, err, ErrCorrupt)
		}
		add(b)
	}
	if e.SD > 0 && e.SD <= len(sds) {
		header(backupstream.StreamSecurity, 0, int64(len(sds[e.SD-1])), "", 0)
		add(sds[e.SD-1])
	}
	if len(e.EA) > 0 {
		header(backupstream.StreamEAData, 0, int64(len(e.EA)), "", 0)
		add(e.EA)
	}
	if len(e.Reparse) > 0 {
		header(backupstream.StreamReparseData, 0, int64(len(e.Reparse)), "", 0)
		add(e.Reparse)
	}
	if e.Data {
		f, err := r.openData(e.Name)
		if err != nil {
			return err
		}
		sparse := e.DataAttr&backupstream.AttrSparse != 0
		switch {
		case !sparse || (len(e.Sparse) == 0 && e.Size == 0):
			header(backupstream.StreamData, e.DataAttr, e.Size, "", 0)
			parts = append(parts, io.NewSectionReader(f, 0, e.Size))
		case len(e.Sparse) == 1 && e.Sparse[0] == [2]int64{0, e.Size}:
			header(backupstream.StreamData, e.DataAttr, e.Size, "", 0)
			parts = append(parts, io.NewSectionReader(f, 0, e.Size))
		default:
			header(backupstream.StreamData, e.DataAttr, 0, "", 0)
			for _, rg := range e.Sparse {
				header(backupstream.StreamSparseBlock, e.DataAttr, rg[1], "", rg[0])
				parts = append(parts, io.NewSectionReader(f, rg[0], rg[1]))
			}
			header(backupstream.StreamSparseBlock, e.DataAttr, 0, "", e.Size)
		}
	}
	for _, a := range e.ADS {
		f, err := os.Open(filepath.Join(r.dir, metaDir, adsDir, fmt.Sprint(a.File)))
		if err != nil {
			return fmt.Errorf("%s: stream %s: %w", e.Name, a.Name, err)
		}
		r.open = append(r.open, f)
		header(backupstream.StreamAlternateData, a.Attributes, a.Size, a.Name, 0)
		parts = append(parts, io.NewSectionReader(f, 0, a.Size))
	}
	if herr != nil {
		return herr
	}
	r.stream = io.MultiReader(parts...)
	return nil
}

func (r *Reader) openData(name string) (*os.File, error) {
	if r.root == nil {
		root, err := os.Open(r.dir)
		if err != nil {
			return nil, err
		}
		r.root = root
	}
	f, err := openLayerFile(r.root, r.dir, name)
	if err != nil {
		return nil, fmt.Errorf("%s: data file: %w: %w", name, err, ErrCorrupt)
	}
	r.open = append(r.open, f)
	return f, nil
}

// Read reads the backup stream of the current entry.
func (r *Reader) Read(p []byte) (int, error) {
	if r.stream == nil {
		return 0, io.EOF
	}
	return r.stream.Read(p)
}

// Close releases the open files.
func (r *Reader) Close() error {
	r.closeCurrent()
	if r.root != nil {
		return r.root.Close()
	}
	return nil
}

// exportFromIndex writes the tar of a layer that has no tar-split record
// (one built through a Writer) as hcsshim's exporter does: walk order,
// whiteouts for tombstones, hard links for the second and later names of a
// file.
func (s *Store) exportFromIndex(ctx context.Context, id string) (io.ReadCloser, error) {
	return s.streamTar(ctx, id, func(r *Reader, tw *tar.Writer) error {
		for {
			h, err := r.Next() // fails once ctx is done
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			switch {
			case h.Whiteout:
				err = wintar.WriteWhiteout(tw, h.Name)
			case h.Linkname != "":
				err = wintar.WriteHardLink(tw, h.Name, h.Linkname, &h.Info)
			default:
				err = wintar.WriteTarFileFromBackupStream(tw, r, h.Name, h.Size, &h.Info)
			}
			if err != nil {
				return fmt.Errorf("entry %q: %w", wintar.ToSlash(h.Name), err)
			}
		}
	})
}

// streamTar runs write over a Reader of layer id and a tar writer, and
// returns the tar as a stream: io.Copy from it writes straight into the
// destination, Read streams it through a pipe; an error ends it.
func (s *Store) streamTar(ctx context.Context, id string, write func(*Reader, *tar.Writer) error) (io.ReadCloser, error) {
	r, err := s.NewReader(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", id, err)
	}
	return newLazyPipe(func(w io.Writer) error {
		defer r.Close()
		tw := tar.NewWriter(w)
		err := write(r, tw)
		if err == nil {
			err = tw.Close()
		}
		if err != nil {
			return fmt.Errorf("export %s: %w", id, err)
		}
		return nil
	}, func() { r.Close() }), nil
}
