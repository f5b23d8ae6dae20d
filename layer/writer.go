package layer

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/winlayer/winlayer/backupstream"
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
// fileSink), so an I/O error writing a file (say ENOSPC) may be reported
// by a later call or by Close, naming the file. After an error the Writer
// refuses further calls; call Abort. A Writer is not safe for concurrent
// use.
type Writer struct {
	s       *Store
	id      string
	parents []string
	stage   string
	st      *stage // the staging directory and its lock

	idxFile *os.File
	idx     *bufio.Writer
	enc     *json.Encoder
	sdIndex map[string]int
	sdList  []string
	names   *nameSet // what every name (compared without case) is in this layer
	entries int
	adsN    int
	meta    Meta

	replace bool // Close swaps the new layer with the existing one
	dirty   bool // Close marks the layer as changed through a mounted view

	cur  *Entry
	cs   curStream
	err  error
	done bool
	sink *fileSink // writes regular files' data beside the import loop

	space spaceBudget // what the streams claim, against the free space
}

// dataFile is where a file's data goes: *os.File, or on Linux a plain
// file descriptor.
type dataFile interface {
	io.Writer
	io.WriterAt
	Truncate(size int64) error
	Close() error
}

// curStream is the push parser state for the backup stream of cur.
type curStream struct {
	hdr     [backupstream.HeaderSize]byte
	hn      int
	name    []byte
	nameLen int
	off     [8]byte
	on      int
	phase   int
	h       backupstream.Header
	left    int64
	pos     int64 // write position in f (sparse blocks)
	meta    []byte
	f       dataFile // data file of cur (kept open across streams)
	ads     *os.File // current alternate data stream file
	bcd     *os.File
	created bool
}

const (
	phHeader = iota
	phName
	phOffset
	phPayload
)

// NewWriter starts a new layer id with the given parent layer directories
// (nearest first; none for a base layer). The parents must make a whole
// chain, as moby's and hcsshim's layerchain.json: one parent P stands
// for P followed by P's stored chain (what is stored); several must be
// exactly that list, else the error shows the expected chain. Every
// parent must exist — a layer of the store, or a directory outside it —
// unless [WithPendingParents] is given; a parent named twice, or the
// layer itself, is refused. Errors wrap [ErrBadChain] or [ErrNotExist].
func (s *Store) NewWriter(id string, parents []string, opts ...ImportOption) (*Writer, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	if s.Exists(id) {
		return nil, fmt.Errorf("layer %s: %w", id, ErrExists)
	}
	return s.newWriter(id, parents, opts)
}

func (s *Store) newWriter(id string, parents []string, opts []ImportOption) (*Writer, error) {
	parents, err := s.checkChain(id, parents, importConfigOf(opts))
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", id, err)
	}
	st, err := s.newStage(id)
	if err != nil {
		return nil, fmt.Errorf("layer %s: staging: %w", id, err)
	}
	stage := st.path
	w := &Writer{s: s, id: id, parents: parents, stage: stage, st: st, sdIndex: map[string]int{}}
	w.names = newNameSet(stage)
	w.space.dir = stage
	fail := func(err error) (*Writer, error) {
		st.remove(s.home)
		return nil, fmt.Errorf("layer %s: staging: %w", id, err)
	}
	if err := os.MkdirAll(filepath.Join(stage, metaDir, adsDir), 0o755); err != nil {
		return fail(err)
	}
	if w.idxFile, err = os.Create(filepath.Join(stage, metaDir, indexFile)); err != nil {
		return fail(err)
	}
	w.idx = bufio.NewWriterSize(w.idxFile, 256<<10)
	w.enc = json.NewEncoder(w.idx)
	w.enc.SetEscapeHTML(false)
	w.meta = Meta{Version: formatVer, Base: len(parents) == 0}
	faultPoint("writer:staged")
	return w, nil
}

// Dir returns the staging directory the layer is being built in.
func (w *Writer) Dir() string { return w.stage }

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
	return nil
}

func (w *Writer) path(name string) string { return filepath.Join(w.stage, filepath.FromSlash(name)) }

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
	w.cs = curStream{name: w.cs.name, meta: w.cs.meta[:0]}
	faultPoint("writer:add")
	return nil
}

// Write consumes the next bytes of the current entry's backup stream:
// data goes to the file, alternate data streams to the store's stream
// area, security descriptor, EAs and reparse point to the index.
func (w *Writer) Write(p []byte) (int, error) {
	if err := w.check(); err != nil {
		return 0, err
	}
	if w.cur == nil {
		return 0, w.fail(errors.New("layer writer: Write before Add"))
	}
	faultPoint("writer:write")
	total := len(p)
	for len(p) > 0 {
		cs := &w.cs
		switch cs.phase {
		case phHeader:
			n := copy(cs.hdr[cs.hn:], p)
			cs.hn += n
			p = p[n:]
			if cs.hn == len(cs.hdr) {
				if err := w.parseHeader(); err != nil {
					return 0, w.fail(err)
				}
			}
		case phName:
			n := copy(cs.name[len(cs.name):cs.nameLen], p)
			cs.name = cs.name[:len(cs.name)+n]
			p = p[n:]
			if len(cs.name) == cs.nameLen {
				cs.h.Name = backupstream.DecodeName(cs.name)
				if err := w.afterName(); err != nil {
					return 0, w.fail(err)
				}
			}
		case phOffset:
			n := copy(cs.off[cs.on:], p)
			cs.on += n
			p = p[n:]
			if cs.on == len(cs.off) {
				cs.h.Offset = int64(binary.LittleEndian.Uint64(cs.off[:]))
				if err := w.beginStream(); err != nil {
					return 0, w.fail(err)
				}
			}
		case phPayload:
			n := len(p)
			if int64(n) > cs.left {
				n = int(cs.left)
			}
			if err := w.consume(p[:n]); err != nil {
				return 0, w.fail(err)
			}
			cs.left -= int64(n)
			p = p[n:]
			if cs.left == 0 {
				if err := w.endStream(); err != nil {
					return 0, w.fail(err)
				}
			}
		}
	}
	return total, nil
}

// bufferedData is a data file that reads its data straight into the
// buffers it writes from (the sink's files on Linux), saving the copy
// Write makes.
type bufferedData interface {
	// readFromN reads at most n bytes from r, stopping at r's first
	// error, which it returns (io.EOF included). failed reports whether
	// the error is the file's own (a write), not r's.
	readFromN(r io.Reader, n int64) (read int64, failed bool, err error)
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
		cs := &w.cs
		if bd, ok := cs.f.(bufferedData); ok && w.cur != nil && cs.phase == phPayload &&
			cs.h.ID == backupstream.StreamData && cs.bcd == nil && cs.left > 0 {
			n, failed, err := bd.readFromN(r, cs.left)
			total += n
			cs.left -= n
			if failed {
				return total, w.fail(err)
			}
			if cs.left == 0 {
				if err := w.endStream(); err != nil {
					return total, w.fail(err)
				}
			}
			if err == io.EOF {
				return total, nil
			}
			if err != nil {
				return total, err
			}
			continue
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

func (w *Writer) parseHeader() error {
	cs := &w.cs
	cs.h = backupstream.Header{
		ID:         backupstream.StreamID(binary.LittleEndian.Uint32(cs.hdr[0:])),
		Attributes: binary.LittleEndian.Uint32(cs.hdr[4:]),
	}
	size := binary.LittleEndian.Uint64(cs.hdr[8:])
	nameSize := binary.LittleEndian.Uint32(cs.hdr[16:])
	if size > 1<<62 || nameSize%2 != 0 || nameSize > backupstream.MaxNameBytes {
		return invalid(w.cur.Name, "corrupt backup stream header (size %d, name size %d)", size, nameSize)
	}
	cs.h.Size = int64(size)
	if nameSize > 0 {
		cs.phase, cs.nameLen = phName, int(nameSize)
		if cap(cs.name) < cs.nameLen {
			cs.name = make([]byte, 0, cs.nameLen)
		}
		cs.name = cs.name[:0]
		return nil
	}
	return w.afterName()
}

func (w *Writer) afterName() error {
	cs := &w.cs
	if cs.h.ID == backupstream.StreamSparseBlock {
		if cs.h.Size < 8 {
			return invalid(w.cur.Name, "sparse block of %d bytes", cs.h.Size)
		}
		cs.h.Size -= 8
		cs.phase, cs.on = phOffset, 0
		return nil
	}
	return w.beginStream()
}

// beginStream opens the destination of the stream whose header was just read.
func (w *Writer) beginStream() error {
	cs, e := &w.cs, w.cur
	cs.phase, cs.left, cs.pos = phPayload, cs.h.Size, 0
	switch cs.h.ID {
	case backupstream.StreamData:
		if e.Kind == KindDir {
			return invalid(e.Name, "directory with a data stream")
		}
		if e.Data {
			return invalid(e.Name, "two data streams")
		}
		e.Data, e.DataAttr, e.Size = true, cs.h.Attributes, cs.h.Size
		if err := w.space.claim(e.Name, cs.h.Size); err != nil {
			return err
		}
		if err := w.createData(); err != nil {
			return err
		}
	case backupstream.StreamSparseBlock:
		if !e.Data || e.DataAttr&backupstream.AttrSparse == 0 {
			return invalid(e.Name, "sparse block without a sparse data stream")
		}
		if cs.h.Offset < 0 || cs.h.Offset > 1<<50 {
			return invalid(e.Name, "sparse block at offset %d", cs.h.Offset)
		}
		cs.pos = cs.h.Offset
		if cs.h.Size > 0 {
			e.Sparse = append(e.Sparse, [2]int64{cs.h.Offset, cs.h.Size})
		}
		if err := w.space.claim(e.Name, cs.h.Size); err != nil {
			return err
		}
		if err := w.growSparse(cs.h.Offset + cs.h.Size); err != nil {
			return err
		}
	case backupstream.StreamSecurity, backupstream.StreamEAData, backupstream.StreamReparseData:
		if cs.h.Size > wintar.MaxMetadataSize {
			return invalid(e.Name, "%s stream of %d bytes is over the %d-byte limit", cs.h.ID, cs.h.Size, wintar.MaxMetadataSize)
		}
		cs.meta = cs.meta[:0]
	case backupstream.StreamAlternateData:
		sn := cs.h.Name
		bare := strings.TrimSuffix(strings.TrimPrefix(sn, ":"), ":$DATA")
		if !strings.HasPrefix(sn, ":") || bare == "" || strings.ContainsAny(bare, "/\\:\x00") {
			return invalid(e.Name, "bad alternate data stream name %q", sn)
		}
		if err := checkStreamName(sn); err != nil {
			return invalid(e.Name, "alternate data stream %q: %v", sn, err)
		}
		for _, a := range e.ADS {
			if wintar.EqualFoldNTFS(a.Name, sn) {
				return invalid(e.Name, "duplicate alternate data stream %q", sn)
			}
		}
		if err := w.space.claim(e.Name+sn, cs.h.Size); err != nil {
			return err
		}
		w.adsN++
		f, err := os.OpenFile(filepath.Join(w.stage, metaDir, adsDir, fmt.Sprint(w.adsN)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		cs.ads = f
		e.ADS = append(e.ADS, ADS{Name: sn, Attributes: cs.h.Attributes, Size: cs.h.Size, File: w.adsN})
	case backupstream.StreamLink, backupstream.StreamPropertyData, backupstream.StreamObjectID, backupstream.StreamTxfsData:
		// Not kept: the exporter ignores these streams.
	default:
		return invalid(e.Name, "unknown backup stream id %d", uint32(cs.h.ID))
	}
	if cs.left == 0 {
		return w.endStream()
	}
	return nil
}

func (w *Writer) createData() error {
	cs, e := &w.cs, w.cur
	var f dataFile
	var err error
	if e.BCDBackup == "" && e.DataAttr&backupstream.AttrSparse == 0 {
		if w.sink == nil {
			w.sink = newSink()
		}
		f, err = w.sink.createData(w.path(e.Name), cs.h.Size)
	} else {
		f, err = createExcl(w.path(e.Name))
	}
	if err != nil {
		return err
	}
	cs.f, cs.created = f, true
	if e.BCDBackup != "" {
		if cs.bcd, err = os.OpenFile(filepath.Join(w.stage, e.BCDBackup), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func (w *Writer) consume(p []byte) error {
	cs := &w.cs
	switch cs.h.ID {
	case backupstream.StreamData:
		if _, err := cs.f.Write(p); err != nil {
			return err
		}
		if cs.bcd != nil {
			if _, err := cs.bcd.Write(p); err != nil {
				return err
			}
		}
	case backupstream.StreamSparseBlock:
		if _, err := cs.f.WriteAt(p, cs.pos); err != nil {
			return err
		}
		if cs.bcd != nil {
			if _, err := cs.bcd.WriteAt(p, cs.pos); err != nil {
				return err
			}
		}
		cs.pos += int64(len(p))
	case backupstream.StreamSecurity, backupstream.StreamEAData, backupstream.StreamReparseData:
		cs.meta = append(cs.meta, p...)
	case backupstream.StreamAlternateData:
		if _, err := cs.ads.Write(p); err != nil {
			return err
		}
	}
	return nil
}

func (w *Writer) endStream() error {
	cs, e := &w.cs, w.cur
	cs.phase, cs.hn = phHeader, 0
	switch cs.h.ID {
	case backupstream.StreamSecurity:
		if len(cs.meta) > 0 {
			key := base64.StdEncoding.EncodeToString(cs.meta)
			n, ok := w.sdIndex[key]
			if !ok {
				w.sdList = append(w.sdList, key)
				n = len(w.sdList)
				w.sdIndex[key] = n
			}
			e.SD = n
		}
	case backupstream.StreamEAData:
		if _, err := backupstream.DecodeEAs(cs.meta); err != nil {
			return invalid(e.Name, "EA stream: %v", err)
		}
		e.EA = append([]byte(nil), cs.meta...)
	case backupstream.StreamReparseData:
		e.Reparse = append([]byte(nil), cs.meta...)
	case backupstream.StreamAlternateData:
		err := cs.ads.Close()
		cs.ads = nil
		return err
	}
	return nil
}

// finish ends the current entry: checks its stream is complete, puts it
// on disk in its final form and appends it to the index.
func (w *Writer) finish() error {
	e := w.cur
	if e == nil {
		return nil
	}
	w.cur = nil
	cs := &w.cs
	if cs.phase != phHeader || cs.hn != 0 {
		return invalid(e.Name, "backup stream ends inside a stream")
	}
	var err error
	if cs.f != nil {
		if e.Sparse != nil || e.DataAttr&backupstream.AttrSparse != 0 {
			err = cs.f.Truncate(e.Size)
		}
		if cerr := cs.f.Close(); err == nil {
			err = cerr
		}
		cs.f = nil
	}
	if cs.bcd != nil {
		if terr := cs.bcd.Truncate(e.Size); err == nil {
			err = terr
		}
		if cerr := cs.bcd.Close(); err == nil {
			err = cerr
		}
		cs.bcd = nil
	}
	if err != nil {
		return err
	}
	if e.Reparse != nil {
		if err := w.makeReparse(e); err != nil {
			return err
		}
	} else if e.Kind == KindFile && !cs.created {
		f, err := createExcl(w.path(e.Name))
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

func (w *Writer) appendEntry(e *Entry) error {
	if err := w.enc.Encode(e); err != nil {
		return err
	}
	w.entries++
	return nil
}

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

// Abort discards the layer being built. It is safe to call after Close
// or another Abort.
func (w *Writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	if w.cs.f != nil {
		w.cs.f.Close()
	}
	for _, f := range []*os.File{w.cs.ads, w.cs.bcd, w.idxFile} {
		if f != nil {
			f.Close()
		}
	}
	if w.sink != nil {
		w.sink.Close()
	}
	return w.st.remove(w.s.home)
}

// Close finishes the last entry, writes the metadata and layerchain.json,
// flushes everything to stable storage and renames the layer into place.
// On an error before the rename the layer is discarded (the store is as
// before). Once renamed the layer is committed: the only error Close can
// then report wraps [ErrCommittedNotDurable] (the final flush of the
// store's directory failed). The staging lock is released in every case.
func (w *Writer) Close() error {
	if err := w.check(); err != nil {
		w.Abort()
		return err
	}
	committed, err := w.commit()
	if !committed {
		w.Abort()
		return fmt.Errorf("layer %s: %w", w.id, err)
	}
	w.done = true
	w.st.lock.release()
	if err != nil {
		return fmt.Errorf("layer %s: %w: %w", w.id, ErrCommittedNotDurable, err)
	}
	return nil
}

// commit writes the metadata, flushes and renames the layer into place;
// committed reports whether the rename happened (err is then only about
// durability).
func (w *Writer) commit() (committed bool, err error) {
	if err := w.finish(); err != nil {
		return false, err
	}
	if w.sink != nil {
		if err := w.sink.Close(); err != nil {
			return false, err
		}
	}
	if err := w.idx.Flush(); err != nil {
		return false, err
	}
	if err := w.idxFile.Close(); err != nil {
		return false, err
	}
	w.idxFile = nil
	sds, _ := json.Marshal(w.sdList)
	if w.sdList == nil {
		sds = []byte("[]")
	}
	if err := os.WriteFile(filepath.Join(w.stage, metaDir, sdFile), sds, 0o644); err != nil {
		return false, err
	}
	if err := os.MkdirAll(w.path(wintar.RootFiles), 0o755); err != nil {
		return false, err
	}
	if err := os.Chmod(w.path(wintar.RootFiles), 0o755); err != nil {
		return false, err
	}
	if err := os.Chmod(w.stage, 0o755); err != nil {
		return false, err
	}
	var chain []string
	if len(w.parents) > 0 {
		chain = w.parents
	}
	b, _ := json.Marshal(chain)
	if err := os.WriteFile(filepath.Join(w.stage, chainFile), b, chainMode); err != nil {
		return false, err
	}
	w.meta.Entries = w.entries
	w.meta.Created = time.Now().UTC()
	mb, _ := json.MarshalIndent(w.meta, "", "  ")
	if err := os.WriteFile(filepath.Join(w.stage, metaDir, metaFile), mb, 0o644); err != nil {
		return false, err
	}
	if w.dirty {
		if err := os.WriteFile(filepath.Join(w.stage, metaDir, dirtyFile), nil, 0o644); err != nil {
			return false, err
		}
	}
	faultPoint("writer:before-sync")
	if err := faultErr("writer:before-sync"); err != nil {
		return false, err
	}
	if err := syncFS(w.stage); err != nil {
		return false, err
	}
	if err := w.st.verify(w.s.home); err != nil {
		return false, err
	}
	faultPoint("writer:before-rename")
	if err := faultErr("writer:before-rename"); err != nil {
		return false, err
	}
	if w.replace {
		// The new layer takes the place of the old one in one step; the
		// old one ends up in the staging directory, removed below or, if
		// that fails, by the next Cleanup.
		if err := exchange(w.stage, w.s.Dir(w.id)); err != nil {
			return false, err
		}
		faultPoint("writer:after-exchange")
		serr := faultErr("writer:after-exchange")
		if serr == nil {
			serr = syncDir(w.s.home)
		}
		if err := removeAllBeneath(w.s.home, w.st.rel); err != nil {
			w.s.log.Warn("replaced layer's old content left for cleanup", "layer", w.id, "dir", w.stage, "err", err)
		}
		return true, serr
	}
	if err := renameNoReplace(w.stage, w.s.Dir(w.id)); err != nil {
		if errors.Is(err, os.ErrExist) {
			return false, ErrExists
		}
		return false, err
	}
	faultPoint("writer:after-rename")
	if err := faultErr("writer:after-rename"); err != nil {
		return true, err
	}
	return true, syncDir(w.s.home)
}
