package wintar_test

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/winlayer/winlayer/backupstream"
)

// entry is one tar entry a test writes: its header and content. Size is
// filled in from data for regular files when left 0.
type entry struct {
	hdr  *tar.Header
	data string
}

// reg, dir, symlink, link and whiteout build the common entry kinds.
func reg(name, data string, pax map[string]string) entry {
	return entry{hdr: &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o100000, Format: tar.FormatPAX, PAXRecords: pax}, data: data}
}

func dir(name string, pax map[string]string) entry {
	return entry{hdr: &tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o40000, Format: tar.FormatPAX, PAXRecords: pax}}
}

func symlink(name, target string, pax map[string]string) entry {
	return entry{hdr: &tar.Header{Name: name, Typeflag: tar.TypeSymlink, Mode: 0o120000, Linkname: target, Format: tar.FormatPAX, PAXRecords: pax}}
}

func link(name, target string) entry {
	return entry{hdr: &tar.Header{Name: name, Typeflag: tar.TypeLink, Mode: 0o644, Linkname: target}}
}

func whiteout(name string) entry { return entry{hdr: &tar.Header{Name: name}} }

func typed(name string, flag byte) entry {
	return entry{hdr: &tar.Header{Name: name, Typeflag: flag, Mode: 0o644}}
}

// makeTar writes entries with archive/tar and returns the archive.
func makeTar(tb testing.TB, entries ...entry) []byte {
	tb.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := *e.hdr
		if h.Size == 0 && (h.Typeflag == tar.TypeReg || h.Typeflag == 0) {
			h.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(&h); err != nil {
			tb.Fatalf("write header %q: %v", h.Name, err)
		}
		if _, err := io.WriteString(tw, e.data); err != nil {
			tb.Fatalf("write %q: %v", h.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// call is one call the import loop made on a LayerWriter.
type call struct {
	op     string // "add", "link" or "remove"
	name   string
	target string
	info   *backupstream.FileBasicInfo
	stream []byte
}

func (c call) String() string {
	switch c.op {
	case "add":
		return fmt.Sprintf("add %s (%d stream bytes)", c.name, len(c.stream))
	case "link":
		return fmt.Sprintf("link %s -> %s", c.name, c.target)
	}
	return c.op + " " + c.name
}

// recorder is an in-memory LayerWriter that keeps every call and stream.
// fail, when set, is consulted before each call and may make it fail.
type recorder struct {
	calls []call
	fail  func(op, name string) error
}

func (r *recorder) check(op, name string) error {
	if r.fail != nil {
		return r.fail(op, name)
	}
	return nil
}

func (r *recorder) Add(name string, info *backupstream.FileBasicInfo) error {
	if err := r.check("add", name); err != nil {
		return err
	}
	r.calls = append(r.calls, call{op: "add", name: name, info: info})
	return nil
}

func (r *recorder) AddLink(name, target string) error {
	if err := r.check("link", name); err != nil {
		return err
	}
	r.calls = append(r.calls, call{op: "link", name: name, target: target})
	return nil
}

func (r *recorder) Remove(name string) error {
	if err := r.check("remove", name); err != nil {
		return err
	}
	r.calls = append(r.calls, call{op: "remove", name: name})
	return nil
}

func (r *recorder) Write(p []byte) (int, error) {
	if len(r.calls) == 0 || r.calls[len(r.calls)-1].op != "add" {
		return 0, errors.New("write without add")
	}
	if err := r.check("write", r.calls[len(r.calls)-1].name); err != nil {
		return 0, err
	}
	c := &r.calls[len(r.calls)-1]
	c.stream = append(c.stream, p...)
	return len(p), nil
}

// part is one record of a backup stream a test builds; its size is
// len(data) (see rawHeader for streams whose sizes lie).
type part struct {
	id     backupstream.StreamID
	attr   uint32
	name   string
	offset int64
	data   string
}

// streamOf encodes parts as a backup stream.
func streamOf(tb testing.TB, parts ...part) []byte {
	tb.Helper()
	var buf bytes.Buffer
	bw := backupstream.NewWriter(&buf)
	for _, p := range parts {
		if err := bw.WriteHeader(&backupstream.Header{ID: p.id, Attributes: p.attr, Size: int64(len(p.data)), Name: p.name, Offset: p.offset}); err != nil {
			tb.Fatal(err)
		}
		if _, err := io.WriteString(bw, p.data); err != nil {
			tb.Fatal(err)
		}
	}
	if err := bw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// rawHeader encodes one WIN32_STREAM_ID header with any size field and no
// name, for streams whose declared sizes lie.
func rawHeader(id backupstream.StreamID, attr uint32, size uint64) []byte {
	b := make([]byte, backupstream.HeaderSize)
	binary.LittleEndian.PutUint32(b[0:], uint32(id))
	binary.LittleEndian.PutUint32(b[4:], attr)
	binary.LittleEndian.PutUint64(b[8:], size)
	return b
}

// streamPart is a decoded record of a backup stream.
type streamPart struct {
	id     backupstream.StreamID
	attr   uint32
	name   string
	offset int64
	data   []byte
}

// parseStream decodes a whole backup stream.
func parseStream(b []byte) ([]streamPart, error) {
	br := backupstream.NewReader(bytes.NewReader(b))
	var parts []streamPart
	for {
		h, err := br.Next()
		if err == io.EOF {
			return parts, nil
		}
		if err != nil {
			return parts, err
		}
		data, err := io.ReadAll(br)
		if err != nil {
			return parts, err
		}
		parts = append(parts, streamPart{id: h.ID, attr: h.Attributes, name: h.Name, offset: h.Offset, data: data})
	}
}

// ids lists the stream ids of parts.
func ids(parts []streamPart) []backupstream.StreamID {
	out := make([]backupstream.StreamID, len(parts))
	for i, p := range parts {
		out[i] = p.id
	}
	return out
}

// tarEntry is an entry read back from a tar.
type tarEntry struct {
	hdr  *tar.Header
	data []byte
}

// readTar reads every entry of a tar.
func readTar(b []byte) ([]tarEntry, error) {
	tr := tar.NewReader(bytes.NewReader(b))
	var out []tarEntry
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return out, err
		}
		out = append(out, tarEntry{h, data})
	}
}

// onlyReader hides every method but Read: the single-pass export path.
type onlyReader struct{ io.Reader }

// brokenSeeker is a Seeker whose Seek always fails, like hcsshim's legacy
// reader for roots and hives: the export must fall back to one pass.
type brokenSeeker struct{ io.Reader }

func (brokenSeeker) Seek(int64, int) (int64, error) { return 0, errors.New("not seekable") }

// ftOf returns the FILETIME of time.Unix(sec, nsec) (exact for times in
// 1678–2262 at 100 ns resolution).
func ftOf(sec, nsec int64) backupstream.Filetime {
	return backupstream.NsecToFiletime(sec*1e9 + nsec)
}

// sliceTar is a TarReader over ready-made headers, for names archive/tar
// cannot carry (NUL).
type sliceTar struct {
	entries []entry
	i       int
	r       *strings.Reader
}

func newSliceTar(entries ...entry) *sliceTar { return &sliceTar{entries: entries, i: -1} }

func (s *sliceTar) Next() (*tar.Header, error) {
	s.i++
	if s.i >= len(s.entries) {
		return nil, io.EOF
	}
	e := s.entries[s.i]
	h := *e.hdr
	if h.Typeflag == tar.TypeReg {
		h.Size = int64(len(e.data))
	}
	s.r = strings.NewReader(e.data)
	return &h, nil
}

func (s *sliceTar) Read(p []byte) (int, error) {
	if s.r == nil {
		return 0, io.EOF
	}
	return s.r.Read(p)
}
