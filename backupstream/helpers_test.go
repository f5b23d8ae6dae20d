package backupstream

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf16"
)

// testdata is the repository's oracle vector directory (copied from the
// shared set; see its README for the origin of every file).
const testdata = "../testdata"

// goldenRecord is the part of a sample.dump.jsonl line these tests use.
type goldenRecord struct {
	Op        string         `json:"op"`
	Name      string         `json:"name"`
	WinName   string         `json:"win_name"`
	StreamB64 *string        `json:"stream_b64"`
	StreamLen int            `json:"stream_len"`
	Streams   []goldenStream `json:"streams"`
	FileInfo  *goldenInfo    `json:"file_info"`
}

type goldenStream struct {
	ID         uint32 `json:"id"`
	IDName     string `json:"id_name"`
	Attributes uint32 `json:"attributes"`
	Size       *int64 `json:"size"`
	Name       string `json:"name"`
	Offset     int64  `json:"offset"`
	DataB64    string `json:"data_b64"`
	EAs        []struct {
		Name     string `json:"name"`
		Flags    uint8  `json:"flags"`
		ValueB64 string `json:"value_b64"`
	} `json:"eas"`
	Reparse *struct {
		Target       string `json:"target"`
		IsMountPoint bool   `json:"is_mount_point"`
		IsLxSymlink  bool   `json:"is_lx_symlink"`
		Tag          string `json:"tag"`
	} `json:"reparse"`
}

type goldenFT struct {
	FT   uint64 `json:"ft"`
	Time string `json:"time"`
}

type goldenInfo struct {
	CreationTime   goldenFT `json:"creation_time"`
	LastAccessTime goldenFT `json:"last_access_time"`
	LastWriteTime  goldenFT `json:"last_write_time"`
	ChangeTime     goldenFT `json:"change_time"`
	FileAttributes uint32   `json:"file_attributes"`
	AttributeNames []string `json:"attribute_names"`
}

// loadRecords reads a JSON-lines record file under testdata. The returned
// slice is indexed from 1 like the spec's "record N" (index 0 is unused).
func loadRecords(t testing.TB, name string) []goldenRecord {
	t.Helper()
	f, err := os.Open(filepath.Join(testdata, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs := []goldenRecord{{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r goldenRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s line %d: %v", name, len(recs), err)
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return recs
}

func mustB64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("base64 %q: %v", s, err)
	}
	return b
}

// part is one record of a backup stream as the tests see it.
type part struct {
	Header
	Data []byte
}

// encodeParts writes parts with a Writer; each part's Size is taken from
// its data.
func encodeParts(t testing.TB, parts []part) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, p := range parts {
		h := p.Header
		h.Size = int64(len(p.Data))
		if err := w.WriteHeader(&h); err != nil {
			t.Fatalf("WriteHeader(%+v): %v", h, err)
		}
		if _, err := w.Write(p.Data); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return buf.Bytes()
}

// goldenParts converts a record's "streams" field into parts.
func goldenParts(t testing.TB, rec goldenRecord) []part {
	t.Helper()
	var parts []part
	for _, s := range rec.Streams {
		p := part{Header: Header{ID: StreamID(s.ID), Attributes: s.Attributes, Name: s.Name}, Data: mustB64(t, s.DataB64)}
		if p.ID == StreamSparseBlock {
			p.Offset = s.Offset
		}
		if p.Data == nil {
			p.Data = []byte{}
		}
		p.Size = int64(len(p.Data))
		parts = append(parts, p)
	}
	return parts
}

// readParts reads every record of stream with Next and io.ReadAll and
// returns them with the terminating error (nil for a clean io.EOF).
func readParts(r *Reader) ([]part, error) {
	var parts []part
	for {
		h, err := r.Next()
		if err == io.EOF {
			return parts, nil
		}
		if err != nil {
			return parts, err
		}
		data, err := io.ReadAll(r)
		parts = append(parts, part{Header: *h, Data: data})
		if err != nil {
			return parts, err
		}
	}
}

// rawHeader builds a WIN32_STREAM_ID header by hand, for headers the
// Writer refuses to produce.
func rawHeader(id uint32, attrs uint32, size uint64, nameSize uint32) []byte {
	b := make([]byte, HeaderSize)
	binary.LittleEndian.PutUint32(b[0:], id)
	binary.LittleEndian.PutUint32(b[4:], attrs)
	binary.LittleEndian.PutUint64(b[8:], size)
	binary.LittleEndian.PutUint32(b[16:], nameSize)
	return b
}

// utf16LE encodes units little-endian.
func utf16LE(units []uint16) []byte {
	b := make([]byte, 2*len(units))
	for i, u := range units {
		binary.LittleEndian.PutUint16(b[2*i:], u)
	}
	return b
}

func utf16LEString(s string) []byte { return utf16LE(utf16.Encode([]rune(s))) }

func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

// plainReader hides every method of r but Read (no Seek, no WriterTo).
type plainReader struct{ r io.Reader }

func (p *plainReader) Read(b []byte) (int, error) { return p.r.Read(b) }

// seekCounter is a ReadSeeker that counts Seek calls and bytes read.
type seekCounter struct {
	r     io.ReadSeeker
	seeks int
	read  int64
}

func (s *seekCounter) Read(b []byte) (int, error) {
	n, err := s.r.Read(b)
	s.read += int64(n)
	return n, err
}

func (s *seekCounter) Seek(off int64, whence int) (int64, error) {
	s.seeks++
	return s.r.Seek(off, whence)
}

// brokenSeeker is a Reader that claims to seek but cannot (like a pipe's
// *os.File): the Reader must fall back to reading.
type brokenSeeker struct{ r io.Reader }

var errNoSeek = errors.New("illegal seek")

func (b *brokenSeeker) Read(p []byte) (int, error)     { return b.r.Read(p) }
func (b *brokenSeeker) Seek(int64, int) (int64, error) { return 0, errNoSeek }
