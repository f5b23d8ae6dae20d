package layer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/winlayer/winlayer/backupstream"
	"github.com/winlayer/winlayer/internal/directio"
	"github.com/winlayer/winlayer/wintar"
)

// Writer builds a new layer from the calls of the import loop: it is the
// counterpart of hcsshim's LayerWriter and implements [wintar.LayerWriter].
// Add starts an entry, Write delivers its Win32 backup stream (in any
// chunking), AddLink and Remove add hard links and whiteouts, Close
// commits the layer and Abort discards it.
//
// The layer is built in a staging directory of the store and appears under
// its id only when Close succeeds, in one rename. Every name is checked
// before anything is written (safe names, no duplicates — also none that
// differ only in case —, nothing beneath a symlink, junction or file, no
// whiteout of an entry of this layer); errors wrap [ErrInvalidEntry] and
// name the entry. File data is written out beside the caller (see
// directio.Sink), so an I/O error writing a file (say ENOSPC) may be reported
// by a later call or by Close, naming the file. After an error the Writer
// refuses further calls; call Abort. A Writer is not safe for concurrent
// use.
type Writer struct {
	ctx     context.Context // from NewWriter: Add, AddLink, Remove and Close stop once it is done
	s       *Store
	id      string
	parents []string
	existed []string     // the parents that were there when the Writer started: they must be at commit
	st      *stage       // the staging directory and its lock
	idx     *indexWriter // index, security descriptors, stream files
	names   *nameSet     // what every name (compared without case) is in this layer
	meta    Meta

	replace bool // Close swaps the new layer with the existing one
	dirty   bool // Close marks the layer as changed through a mounted view

	cur  *Entry      // the entry being added
	es   entryStream // its backup stream
	err  error
	done bool
	sink *directio.Sink // writes regular files' data beside the import loop

	space spaceBudget // what the streams claim, against the free space
}

// NewWriter starts a new layer id with the given parent layer directories
// (nearest first; none for a base layer). The parents must make a whole
// chain, as moby's and hcsshim's layerchain.json: one parent P stands
// for P followed by P's stored chain (what is stored); several must be
// exactly that list, else the error shows the expected chain. Every
// parent must exist — a layer of the store, or a directory outside it —
// unless [WithPendingParents] is given; a parent named twice, or the
// layer itself, is refused. Errors wrap [ErrBadChain] or [ErrNotExist].
//
// ctx governs the whole Writer: once it is done, Add, AddLink and Remove
// fail with its error and Close discards the layer instead of committing
// it.
func (s *Store) NewWriter(ctx context.Context, id string, parents []string, opts ...ImportOption) (*Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("layer %s: %w", id, err)
	}
	return s.openWriter(ctx, id, parents, opts)
}

// openWriter is NewWriter for a ctx that may be done already: Import
// reports a cancel through its reader, saying how far it got.
func (s *Store) openWriter(ctx context.Context, id string, parents []string, opts []ImportOption) (*Writer, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	if s.Exists(id) {
		return nil, fmt.Errorf("layer %s: %w", id, ErrExists)
	}
	return s.newWriter(ctx, id, parents, opts)
}

func (s *Store) newWriter(ctx context.Context, id string, parents []string, opts []ImportOption) (*Writer, error) {
	parents, err := s.checkChain(id, parents, importConfigOf(opts))
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", id, err)
	}
	st, err := s.newStage(id)
	if err != nil {
		return nil, fmt.Errorf("layer %s: staging: %w", id, err)
	}
	w := &Writer{ctx: ctx, s: s, id: id, parents: parents, st: st}
	for _, p := range parents {
		if s.parentExists(p) {
			w.existed = append(w.existed, p)
		}
	}
	w.names = newNameSet(st.path)
	w.space.dir = st.path
	if w.idx, err = newIndexWriter(filepath.Join(st.path, metaDir)); err != nil {
		st.remove(s.home)
		return nil, fmt.Errorf("layer %s: staging: %w", id, err)
	}
	if len(parents) > 0 {
		if err := writeStageChain(st.path, parents); err != nil {
			w.idx.abort()
			st.remove(s.home)
			return nil, fmt.Errorf("layer %s: staging: %w", id, err)
		}
	}
	w.meta = Meta{Version: formatVer, Base: len(parents) == 0}
	faultPoint("writer:staged")
	return w, nil
}

// Dir returns the staging directory the layer is being built in.
func (w *Writer) Dir() string { return w.st.path }

func (w *Writer) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	return err
}

func invalid(name, format string, args ...any) error {
	return fmt.Errorf("%q: %s: %w", name, fmt.Sprintf(format, args...), ErrInvalidEntry)
}

func (w *Writer) check() error {
	if w.err != nil {
		return w.err
	}
	if w.done {
		return fmt.Errorf("layer %s: %w", w.id, ErrClosed)
	}
	if err := w.ctx.Err(); err != nil {
		return w.fail(fmt.Errorf("layer %s: %w", w.id, err))
	}
	return nil
}

func (w *Writer) path(name string) string { return filepath.Join(w.st.path, filepath.FromSlash(name)) }

// slashName converts a Windows name from the import loop to the store's
// slash form and validates it.
func slashName(winName string, dir bool) (string, error) {
	n := wintar.ToSlash(winName)
	if err := wintar.ValidateName(n, dir); err != nil {
		return "", fmt.Errorf("%q: %w: %w", n, err, ErrInvalidEntry)
	}
	n = strings.TrimSuffix(n, "/")
	if strings.Contains(n, ":") {
		return "", invalid(n, "alternate data stream without its file")
	}
	return n, nil
}

// ensureParent makes sure the parent directory of name exists in this
// layer as a directory, creating missing ones (implicitly, without index
// entries), and refuses names beneath anything that is not a directory.
func (w *Writer) ensureParent(name string) error {
	dir := path.Dir(name)
	if dir == "." {
		return nil
	}
	if st, ok := w.names.get(dir); ok {
		if !w.names.same(st, dir) {
			return invalid(name, "parent %q differs only in case from %q", dir, w.names.spelling(dir))
		}
		if st.kind != KindDir {
			return invalid(name, "beneath %q, which is a %s in this layer", dir, st.kind)
		}
		return nil
	}
	if err := w.ensureParent(dir); err != nil {
		return err
	}
	if err := os.Mkdir(w.path(dir), 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	w.names.set(dir, KindDir, true)
	return nil
}

// claim registers a new name, refusing duplicates (also case-only ones).
func (w *Writer) claim(name string, kind Kind) error {
	if st, ok := w.names.get(name); ok {
		same := w.names.same(st, name)
		if st.implicit && kind == KindDir && same {
			w.names.set(name, KindDir, false)
			return nil
		}
		if !same {
			return invalid(name, "differs only in case from %q, added earlier", w.spelling(name))
		}
		return invalid(name, "duplicate entry (already a %s in this layer)", st.kind)
	}
	w.names.set(name, kind, false)
	return nil
}

// checkRoot applies hcsshim's rules on where a differencing layer may put
// entries of each kind.
func (w *Writer) checkRoot(name string, kind Kind) error {
	if w.meta.Base {
		return nil
	}
	switch kind {
	case KindTombstone, KindOpaque:
		if !strings.HasPrefix(name+"/", "Files/") && !strings.HasPrefix(name, "UtilityVM/Files/") {
			return invalid(name, "invalid tombstone: only Files and UtilityVM/Files entries can be deleted")
		}
	case KindLink:
		if !strings.HasPrefix(name, "Files/") && !strings.HasPrefix(name, "UtilityVM/Files/") {
			return invalid(name, "invalid hard link in layer: only under Files or UtilityVM/Files")
		}
	}
	if strings.HasPrefix(name, "UtilityVM/") && name != "UtilityVM/Files" && !strings.HasPrefix(name, "UtilityVM/Files/") {
		return invalid(name, "invalid UtilityVM layer: only UtilityVM/Files is part of a layer")
	}
	return nil
}

// Add starts the entry name (a Windows name: `Files\dir\a.txt`) with its
// basic information. Directories are created at once; a file is created
// when its data arrives or when the entry ends.
func (w *Writer) Add(name string, info *backupstream.FileBasicInfo) error {
	if err := w.check(); err != nil {
		return err
	}
	if err := w.finish(); err != nil {
		return w.fail(err)
	}
	if info == nil {
		return w.fail(invalid(name, "no file information"))
	}
	dir := info.IsDir()
	n, err := slashName(name, dir)
	if err != nil {
		return w.fail(err)
	}
	kind := KindFile
	if dir {
		kind = KindDir
	}
	if err := w.checkRoot(n, kind); err != nil {
		return w.fail(err)
	}
	if err := w.ensureParent(n); err != nil {
		return w.fail(err)
	}
	if err := w.claim(n, kind); err != nil {
		return w.fail(err)
	}
	e := &Entry{Name: n, Kind: kind}
	e.setBasicInfo(info)
	if b, ok := wintar.BCDBackupName(n); ok {
		e.BCDBackup = b
	}
	if dir {
		if err := os.Mkdir(w.path(n), 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return w.fail(err)
		}
	}
	w.cur = e
	w.es.reset(w)
	faultPoint("writer:add")
	return nil
}

// Write consumes the next bytes of the current entry's backup stream, in
// any chunking: data goes to the file, alternate data streams to the
// store's stream area, security descriptor, EAs and reparse point to the
// index.
func (w *Writer) Write(p []byte) (int, error) {
	if err := w.check(); err != nil {
		return 0, err
	}
	if w.cur == nil {
		return 0, w.fail(errors.New("layer writer: Write before Add"))
	}
	faultPoint("writer:write")
	n, err := w.es.dec.Write(p)
	if err != nil {
		return n, w.fail(w.es.decodeErr(err))
	}
	return n, nil
}

// ReadFrom writes what r holds, up to its EOF, as Write would. The data
// of a regular file is read straight into the buffers the file is
// written from. Errors of r are returned as they are and leave the
// Writer usable; what the Writer meets fails it, as in Write.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	var buf []byte
	for {
		if err := w.check(); err != nil {
			return total, err
		}
		if w.cur != nil {
			n, ok, failed, err := w.es.readFrom(r)
			total += n
			if failed {
				return total, w.fail(err)
			}
			if ok {
				if err == io.EOF {
					return total, nil
				}
				if err != nil {
					return total, err
				}
				continue
			}
		}
		if buf == nil {
			buf = make([]byte, 32<<10)
		}
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// finish ends the current entry: checks its stream is complete, puts it
// on disk in its final form and appends it to the index.
func (w *Writer) finish() error {
	e := w.cur
	if e == nil {
		return nil
	}
	w.cur = nil
	if err := w.es.dec.Close(); err != nil {
		w.es.abort()
		return fmt.Errorf("%q: backup stream ends inside a record: %w: %w", e.Name, err, ErrInvalidEntry)
	}
	if err := w.es.closeFiles(e); err != nil {
		return err
	}
	if e.Reparse != nil {
		if err := w.makeReparse(e); err != nil {
			return err
		}
	} else if e.Kind == KindFile && !w.es.created {
		f, err := directio.CreateExcl(w.path(e.Name))
		if err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	if err := w.appendEntry(e); err != nil {
		return err
	}
	faultPoint("writer:entry")
	return nil
}

// makeReparse turns the entry into a Linux symlink carrying the target
// (relative targets with '/', drive-absolute ones rooted at '/'), so that a
// mounted view shows a link; the reparse buffer in the index stays the
// source of truth. A reparse point of another kind keeps its placeholder.
func (w *Writer) makeReparse(e *Entry) error {
	rp, err := backupstream.DecodeReparsePoint(e.Reparse)
	if err != nil {
		var unsup *backupstream.UnsupportedReparsePointError
		if errors.As(err, &unsup) {
			return nil
		}
		return invalid(e.Name, "reparse point: %v", err)
	}
	if e.Data || len(e.ADS) > 0 {
		return invalid(e.Name, "reparse point with data")
	}
	target := rp.Target
	if len(target) >= 2 && target[1] == ':' {
		target = target[2:]
	}
	target = wintar.ToSlash(target)
	p := w.path(e.Name)
	if e.Kind == KindDir {
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	if err := os.Symlink(target, p); err != nil {
		return err
	}
	e.Kind = KindReparse
	w.names.set(e.Name, KindReparse, false)
	return nil
}

func (w *Writer) appendEntry(e *Entry) error { return w.idx.add(e) }

// AddLink adds name as a hard link to target (Windows names). The target
// is looked up in this layer first, then in the parent layers, nearest
// first, as hcsshim does; it must be a regular file.
func (w *Writer) AddLink(name, target string) error {
	if err := w.check(); err != nil {
		return err
	}
	if err := w.finish(); err != nil {
		return w.fail(err)
	}
	n, err := slashName(name, false)
	if err != nil {
		return w.fail(err)
	}
	t, err := slashName(target, false)
	if err != nil {
		return w.fail(fmt.Errorf("link %q: target: %w", n, err))
	}
	if err := w.checkRoot(n, KindLink); err != nil {
		return w.fail(err)
	}
	if err := w.ensureParent(n); err != nil {
		return w.fail(err)
	}
	if err := w.claim(n, KindLink); err != nil {
		return w.fail(err)
	}
	e := &Entry{Name: n, Kind: KindLink, Link: t}
	if st, ok := w.names.get(t); ok {
		if st.kind != KindFile && st.kind != KindLink {
			return w.fail(invalid(n, "hard link to %q, a %s", t, st.kind))
		}
		if !w.names.same(st, t) {
			return w.fail(invalid(n, "hard link to %q, which this layer spells %q", t, w.names.spelling(t)))
		}
		if w.sink != nil {
			// The target may still be waiting to be created.
			if err := w.sink.Wait(); err != nil {
				return w.fail(err)
			}
		}
		if err := os.Link(w.path(t), w.path(n)); err != nil {
			return w.fail(err)
		}
		return w.fail0(w.appendEntry(e))
	}
	for _, p := range w.parents {
		src, ok, err := regularBeneath(p, t)
		if err != nil {
			return w.fail(err)
		}
		if !ok {
			continue
		}
		if err := linkOrCopy(src, w.path(n)); err != nil {
			return w.fail(err)
		}
		return w.fail0(w.appendEntry(e))
	}
	return w.fail(invalid(n, "failed to find link target for '%s' -> '%s'", name, target))
}

func (w *Writer) fail0(err error) error {
	if err != nil {
		return w.fail(err)
	}
	faultPoint("writer:entry")
	return nil
}

// openBeneathWalk opens name under root after checking, component by
// component, that no symlink is on the way and the file is regular.
func openBeneathWalk(root, name string) (*os.File, error) {
	p, ok, err := regularBeneath(root, name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &os.PathError{Op: "open", Path: name, Err: os.ErrNotExist}
	}
	return openNoFollow(p)
}

// regularBeneath reports whether name is a regular file inside root,
// reached without following any symlink.
func regularBeneath(root, name string) (string, bool, error) {
	p := root
	parts := strings.Split(name, "/")
	for i, c := range parts {
		p = filepath.Join(p, c)
		fi, err := os.Lstat(p)
		if errors.Is(err, os.ErrNotExist) {
			return "", false, nil
		}
		if err != nil {
			return "", false, err
		}
		last := i == len(parts)-1
		if (!last && !fi.IsDir()) || (last && !fi.Mode().IsRegular()) {
			return "", false, nil
		}
	}
	return p, true, nil
}

// linkOrCopy hard-links src to dst, copying when a link is impossible
// (another file system).
func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// Remove records a whiteout of name (a cleaned Windows name). An opaque
// marker (`dir\.wh..opq`, as the import loop passes `.wh..wh..opq`) makes
// dir opaque instead: the parents' content of dir is hidden.
func (w *Writer) Remove(name string) error {
	if err := w.check(); err != nil {
		return err
	}
	if err := w.finish(); err != nil {
		return w.fail(err)
	}
	kind := KindTombstone
	slash := wintar.ToSlash(name)
	if path.Base(slash) == ".wh..opq" {
		kind, name = KindOpaque, path.Dir(slash)
	}
	n, err := slashName(name, true)
	if err != nil {
		return w.fail(err)
	}
	if err := w.checkRoot(n, kind); err != nil {
		return w.fail(err)
	}
	if kind == KindTombstone {
		if _, ok := w.names.get(n); ok {
			return w.fail(invalid(n, "whiteout of %q, which this layer adds", w.names.spelling(n)))
		}
		if err := w.ensureParent(n); err != nil {
			return w.fail(err)
		}
		if err := w.claim(n, kind); err != nil {
			return w.fail(err)
		}
	} else {
		if err := w.ensureParent(n + "/x"); err != nil {
			return w.fail(err)
		}
	}
	if kind == KindTombstone {
		if err := makeWhiteout(w.path(n)); err != nil {
			return w.fail(fmt.Errorf("%q: whiteout: %w", n, err))
		}
	} else if err := makeOpaque(w.path(n)); err != nil {
		return w.fail(fmt.Errorf("%q: opaque: %w", n, err))
	}
	return w.fail0(w.appendEntry(&Entry{Name: n, Kind: kind}))
}
