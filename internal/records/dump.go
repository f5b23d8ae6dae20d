package records

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"github.com/winlayer/winlayer/backupstream"
	"github.com/winlayer/winlayer/wintar"
)

// DumpOptions tune [Dump].
type DumpOptions struct {
	// Hex adds hexadecimal copies of every stream and payload
	// (stream_hex, data_hex) next to the base64 ones.
	Hex bool
	// Strict checks names and entry types as the layer store does
	// (wintar.WithStrictNames) instead of reproducing go-winio's calls for
	// unsafe input.
	Strict bool
}

// Dump reads a layer tar from r, runs the import loop over it and writes
// one JSON record per call to w, then an end record. When the import
// fails it writes an error record (with the partial stream, if any) and
// returns the import's error (a *wintar.EntryError), after the record.
func Dump(ctx context.Context, r io.Reader, w io.Writer, opts DumpOptions) error {
	d := &dumper{enc: json.NewEncoder(w), opts: opts}
	d.enc.SetEscapeHTML(false)
	d.tr = &watchTar{tr: tar.NewReader(r), h: sha256.New()}
	var iopts []wintar.ImportOption
	if opts.Strict {
		iopts = append(iopts, wintar.WithStrictNames())
	}
	total, err := wintar.Import(ctx, d.tr, d, iopts...)
	if err != nil {
		var ee *wintar.EntryError
		if !errors.As(err, &ee) {
			ee = &wintar.EntryError{Op: "import", Err: err}
		}
		if werr := d.fail(ee); werr != nil {
			return werr
		}
		return err
	}
	if err := d.flush(); err != nil {
		return err
	}
	d.tr.closeEntry()
	n := len(d.tr.entries) + d.tr.assigned
	return d.emit(&Record{Op: OpEnd, TotalSize: &total, EntryCount: &n})
}

// dumper is the LayerWriter that turns the import loop's calls into records.
type dumper struct {
	enc     *json.Encoder
	opts    DumpOptions
	tr      *watchTar
	seq     int
	pending *Record // the current add record, its stream still arriving
	stream  bytes.Buffer
}

func (d *dumper) emit(r *Record) error {
	r.Seq = d.seq
	d.seq++
	return d.enc.Encode(r)
}

// start flushes the previous record and hands it the headers it consumed;
// the newest header belongs to the call being made now.
func (d *dumper) start() ([]Entry, error) {
	d.tr.closeEntry()
	cur := d.tr.take(1)
	if d.pending != nil {
		d.pending.Entries = append(d.pending.Entries, d.tr.take(0)...)
	}
	if err := d.flush(); err != nil {
		return nil, err
	}
	return cur, nil
}

func (d *dumper) flush() error {
	if d.pending == nil {
		return nil
	}
	r := d.pending
	d.pending = nil
	d.fillStream(r)
	return d.emit(r)
}

func (d *dumper) fillStream(r *Record) {
	b := d.stream.Bytes()
	sum := sha256.Sum256(b)
	s := base64.StdEncoding.EncodeToString(b)
	n := int64(len(b))
	r.StreamB64, r.StreamLen, r.StreamSHA256 = &s, &n, hex.EncodeToString(sum[:])
	if d.opts.Hex {
		r.StreamHex = hex.EncodeToString(b)
	}
	r.Streams, _ = DecodeStreams(b, d.opts.Hex)
	d.stream.Reset()
}

// fail writes the error record for a failed import.
func (d *dumper) fail(ee *wintar.EntryError) error {
	d.tr.closeEntry()
	// The records compare with go-winio's: its wording, not the user's.
	msg := ee.GoWinioText()
	if ee.Op == wintar.OpStream && d.pending != nil {
		r := d.pending
		d.pending = nil
		r.Entries = append(r.Entries, d.tr.take(0)...)
		d.fillStream(r)
		r.Op, r.Error = OpError, msg
		return d.emit(r)
	}
	if err := d.flush(); err != nil {
		return err
	}
	return d.emit(&Record{Op: OpError, Name: ee.Name, Entries: d.tr.take(0), Error: msg})
}

func (d *dumper) Add(name string, info *backupstream.FileBasicInfo) error {
	entries, err := d.start()
	if err != nil {
		return err
	}
	var size int64
	tarName := ""
	if len(entries) > 0 {
		tarName = entries[0].Name
		if entries[0].Typeflag == string(rune(tar.TypeReg)) {
			size = entries[0].Size
		}
	}
	r := &Record{Op: OpAdd, Entries: entries, Name: tarName, WinName: name, Size: &size, FileInfo: NewFileInfo(info)}
	if b, ok := wintar.BCDBackupName(tarName); ok {
		r.BCDBackup = b
	}
	d.pending = r
	return nil
}

func (d *dumper) Write(p []byte) (int, error) { return d.stream.Write(p) }

func (d *dumper) AddLink(name, target string) error {
	entries, err := d.start()
	if err != nil {
		return err
	}
	r := &Record{Op: OpLink, Entries: entries, WinName: name, WinTarget: target}
	if len(entries) > 0 {
		r.Name = entries[0].Name
		if fi := d.tr.last; fi != nil {
			if _, _, info, err := wintar.FileInfoFromHeader(fi); err == nil {
				r.FileInfo = NewFileInfo(info)
			}
		}
	}
	return d.emit(r)
}

func (d *dumper) Remove(name string) error {
	entries, err := d.start()
	if err != nil {
		return err
	}
	return d.emit(&Record{Op: OpRemove, Entries: entries, Name: wintar.ToSlash(name), WinName: name})
}

// watchTar wraps the tar reader to describe every header and hash every
// payload byte the import loop reads.
type watchTar struct {
	tr       *tar.Reader
	entries  []Entry // headers read and not yet given to a record
	assigned int     // headers already given to records
	last     *tar.Header
	h        hash.Hash
	n        int64
	open     bool
}

func (w *watchTar) Next() (*tar.Header, error) {
	w.closeEntry()
	hdr, err := w.tr.Next()
	if err != nil {
		return nil, err
	}
	w.last = hdr
	w.entries = append(w.entries, describe(hdr, w.assigned+len(w.entries)))
	w.open = true
	w.h.Reset()
	w.n = 0
	return hdr, nil
}

func (w *watchTar) Read(p []byte) (int, error) {
	n, err := w.tr.Read(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	return n, err
}

// closeEntry records the payload length and digest of the newest header.
func (w *watchTar) closeEntry() {
	if !w.open || len(w.entries) == 0 {
		return
	}
	w.open = false
	e := &w.entries[len(w.entries)-1]
	e.DataLen = w.n
	if w.n > 0 {
		e.DataSHA256 = hex.EncodeToString(w.h.Sum(nil))
	}
}

// take removes and returns the pending headers except the newest keep ones.
func (w *watchTar) take(keep int) []Entry {
	if keep > len(w.entries) {
		keep = len(w.entries)
	}
	n := len(w.entries) - keep
	if keep == 1 {
		// The newest header belongs to the caller; the older ones stay for
		// the previous record.
		cur := []Entry{w.entries[n]}
		w.entries = w.entries[:n]
		w.assigned++
		return cur
	}
	out := w.entries
	w.entries = nil
	w.assigned += len(out)
	return out
}

func describe(h *tar.Header, index int) Entry {
	e := Entry{Index: index, Name: h.Name, Typeflag: string(rune(h.Typeflag)), Mode: fmt.Sprintf("%07o", h.Mode),
		Size: h.Size, Linkname: h.Linkname, UID: h.Uid, GID: h.Gid, Uname: h.Uname, Gname: h.Gname,
		Format: formatName(h.Format)}
	e.Mtime = timeString(h.ModTime)
	e.Atime = timeString(h.AccessTime)
	e.Ctime = timeString(h.ChangeTime)
	if len(h.PAXRecords) > 0 {
		e.PAX = h.PAXRecords
	}
	return e
}

func timeString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func formatName(f tar.Format) string {
	var names []string
	for _, x := range []struct {
		f tar.Format
		n string
	}{{tar.FormatUSTAR, "USTAR"}, {tar.FormatPAX, "PAX"}, {tar.FormatGNU, "GNU"}} {
		if f&x.f != 0 {
			names = append(names, x.n)
		}
	}
	if len(names) == 0 {
		return "unknown"
	}
	return strings.Join(names, "|")
}
