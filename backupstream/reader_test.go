package backupstream

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReaderGolden reads every stream_b64 of the oracle dumps and checks
// that Next and Read give exactly the parts listed in the record's
// "streams" field, and that the whole stream is consumed.
func TestReaderGolden(t *testing.T) {
	for _, file := range []string{"sample.dump.jsonl", "sample.rebuilt.dump.jsonl"} {
		recs := loadRecords(t, file)
		n := 0
		for i, rec := range recs {
			if rec.StreamB64 == nil {
				continue
			}
			n++
			t.Run(fmt.Sprintf("%s/%d/%s", file, i, rec.Name), func(t *testing.T) {
				stream := mustB64(t, *rec.StreamB64)
				if len(stream) != rec.StreamLen {
					t.Fatalf("stream is %d bytes, record says %d", len(stream), rec.StreamLen)
				}
				want := goldenParts(t, rec)
				for j, s := range rec.Streams {
					if s.Size == nil || *s.Size != want[j].Size {
						t.Fatalf("part %d: size field %v, data %d bytes", j, s.Size, want[j].Size)
					}
					if s.IDName != "" && StreamID(s.ID).String() != s.IDName {
						t.Errorf("part %d: StreamID(%d).String() = %q, want %q", j, s.ID, StreamID(s.ID).String(), s.IDName)
					}
				}
				r := NewReader(bytes.NewReader(stream))
				got, err := readParts(r)
				if err != nil {
					t.Fatalf("read: %v", err)
				}
				comparePartLists(t, got, want)
				if r.Offset() != int64(len(stream)) {
					t.Errorf("Offset() = %d after EOF, want %d", r.Offset(), len(stream))
				}
			})
		}
		if n < 15 {
			t.Errorf("%s: only %d records with a stream", file, n)
		}
	}
}

func comparePartLists(t *testing.T, got, want []part) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d parts, want %d:\ngot  %+v\nwant %+v", len(got), len(want), got, want)
	}
	for i := range want {
		if got[i].Header != want[i].Header {
			t.Errorf("part %d header:\ngot  %+v\nwant %+v", i, got[i].Header, want[i].Header)
		}
		if !bytes.Equal(got[i].Data, want[i].Data) {
			t.Errorf("part %d data:\ngot  %q\nwant %q", i, got[i].Data, want[i].Data)
		}
	}
}

// TestReaderLayout checks the byte layout of spec §7 on sample record 2:
// where each header ends and each record ends.
func TestReaderLayout(t *testing.T) {
	rec := loadRecords(t, "sample.dump.jsonl")[2]
	stream := mustB64(t, *rec.StreamB64)
	tests := []struct {
		id             StreamID
		name           string
		size           int64
		hdrEnd, recEnd int64
	}{
		{StreamSecurity, "", 52, 20, 72},
		{StreamEAData, "", 36, 92, 128},
		{StreamData, "", 22, 148, 170},
		{StreamAlternateData, ":Zone.Identifier:$DATA", 26, 234, 260},
	}
	r := NewReader(bytes.NewReader(stream))
	for _, tc := range tests {
		h, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if h.ID != tc.id || h.Name != tc.name || h.Size != tc.size || h.Attributes != 0 {
			t.Errorf("header %+v, want id %v name %q size %d", h, tc.id, tc.name, tc.size)
		}
		if r.Offset() != tc.hdrEnd {
			t.Errorf("%v: header ends at %d, want %d", tc.id, r.Offset(), tc.hdrEnd)
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			t.Fatal(err)
		}
		if r.Offset() != tc.recEnd {
			t.Errorf("%v: record ends at %d, want %d", tc.id, r.Offset(), tc.recEnd)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("Next after last record: %v, want io.EOF", err)
	}
}

// sparseStream is a hand-built stream with every kind of header: a
// security descriptor, a sparse data stream of size 0, two sparse blocks
// (Size on disk includes the 8-byte offset), the zero-size terminator
// block, and a named alternate data stream.
func sparseStream() ([]byte, []part) {
	le64 := func(v int64) []byte { return binary.LittleEndian.AppendUint64(nil, uint64(v)) }
	name := utf16LEString(":s:$DATA")
	b := cat(
		rawHeader(3, 0, 4, 0), []byte{1, 0, 4, 128},
		rawHeader(1, 8, 0, 0),
		rawHeader(9, 8, 8+3, 0), le64(10), []byte("abc"),
		rawHeader(9, 8, 8+1, 0), le64(-2), []byte("z"),
		rawHeader(9, 8, 8, 0), le64(100),
		rawHeader(4, 0, 2, uint32(len(name))), name, []byte("hi"),
	)
	parts := []part{
		{Header{ID: StreamSecurity, Size: 4}, []byte{1, 0, 4, 128}},
		{Header{ID: StreamData, Attributes: AttrSparse}, []byte{}},
		{Header{ID: StreamSparseBlock, Attributes: AttrSparse, Size: 3, Offset: 10}, []byte("abc")},
		{Header{ID: StreamSparseBlock, Attributes: AttrSparse, Size: 1, Offset: -2}, []byte("z")},
		{Header{ID: StreamSparseBlock, Attributes: AttrSparse, Offset: 100}, []byte{}},
		{Header{ID: StreamAlternateData, Size: 2, Name: ":s:$DATA"}, []byte("hi")},
	}
	return b, parts
}

// TestReaderSparse checks that a sparse block's on-disk size includes its
// 8-byte offset, which the Reader subtracts and exposes as Offset.
func TestReaderSparse(t *testing.T) {
	stream, want := sparseStream()
	got, err := readParts(NewReader(bytes.NewReader(stream)))
	if err != nil {
		t.Fatal(err)
	}
	comparePartLists(t, got, want)

	// The oracle's sparse-seek-back vector, as its parts describe it.
	rec := loadRecords(t, "errors/sparse-seek-back.jsonl")[1]
	stream = encodeParts(t, goldenParts(t, rec))
	got, err = readParts(NewReader(bytes.NewReader(stream)))
	if err != nil {
		t.Fatal(err)
	}
	offsets := []int64{}
	for _, p := range got[1:] {
		offsets = append(offsets, p.Offset)
	}
	if !slices.Equal(offsets, []int64{50, 10, 100}) {
		t.Errorf("sparse offsets %v, want [50 10 100]", offsets)
	}
	// Record 2's header: id 9, attributes 8, size 4+8, no name, offset 50.
	wantHdr := cat(rawHeader(9, 8, 12, 0), binary.LittleEndian.AppendUint64(nil, 50), []byte("late"))
	if !bytes.Contains(stream, wantHdr) {
		t.Errorf("stream %x lacks sparse record %x", stream, wantHdr)
	}
}

// TestReaderErrorVectors runs the oracle's truncated-stream vector: a data
// stream that announces 10 bytes and carries 2.
func TestReaderErrorVectors(t *testing.T) {
	rec := loadRecords(t, "errors/truncated-stream.jsonl")[1]
	stream := mustB64(t, *rec.StreamB64)
	for _, tc := range []struct {
		name string
		r    io.Reader
	}{
		{"seeker", bytes.NewReader(stream)},
		{"plain", &plainReader{bytes.NewReader(stream)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(tc.r)
			h, err := r.Next()
			if err != nil {
				t.Fatal(err)
			}
			if h.ID != StreamData || h.Size != 10 {
				t.Fatalf("header %+v", h)
			}
			var buf bytes.Buffer
			n, err := io.Copy(&buf, r)
			if n != 2 || buf.String() != "ab" || !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("io.Copy = %d %q, %v; want 2 \"ab\", unexpected EOF", n, buf.String(), err)
			}
		})
	}
}

type walkMode int

const (
	walkRead    walkMode = iota // Read with a 7-byte buffer
	walkWriteTo                 // io.Copy, i.e. WriteTo
	walkSkip                    // Next only: payloads skipped
)

func (m walkMode) String() string { return [...]string{"read", "writeto", "skip"}[m] }

type walkResult struct {
	headers  []Header
	payloads [][]byte
	err      error  // the first error; nil for a clean io.EOF from Next
	errIn    string // "next" or "payload"
}

func walk(r *Reader, mode walkMode) walkResult {
	var res walkResult
	for {
		h, err := r.Next()
		if err == io.EOF {
			return res
		}
		if err != nil {
			res.err, res.errIn = err, "next"
			return res
		}
		res.headers = append(res.headers, *h)
		var buf bytes.Buffer
		switch mode {
		case walkRead:
			p := make([]byte, 7)
			for {
				n, err2 := r.Read(p)
				buf.Write(p[:n])
				if err2 == io.EOF {
					break
				}
				if err2 != nil {
					err = err2
					break
				}
			}
		case walkWriteTo:
			_, err = io.Copy(&buf, r)
		case walkSkip:
			continue
		}
		res.payloads = append(res.payloads, buf.Bytes())
		if err != nil {
			res.err, res.errIn = err, "payload"
			return res
		}
	}
}

// truncationStreams are the valid streams cut at every offset.
func truncationStreams(t *testing.T) map[string][]byte {
	streams := map[string][]byte{}
	recs := loadRecords(t, "sample.dump.jsonl")
	for _, i := range []int{2, 3, 5, 8, 10, 14} {
		streams[fmt.Sprintf("sample%d", i)] = mustB64(t, *recs[i].StreamB64)
	}
	streams["sparse"], _ = sparseStream()
	return streams
}

// TestReaderTruncation cuts valid streams at every offset and reads the
// prefix in every mode, through a seeker and a plain reader: never a
// panic, a clean io.EOF exactly at record boundaries, and
// io.ErrUnexpectedEOF (from Next inside a header, name or sparse offset,
// from Read/WriteTo inside a payload, from the next Next when the payload
// was skipped by reading) everywhere else. The one exception is go-winio's:
// a payload skipped with Seek is not checked against the end of the source.
func TestReaderTruncation(t *testing.T) {
	for name, stream := range truncationStreams(t) {
		// Record boundaries from a full read.
		var hdrEnd, recEnd []int
		r := NewReader(bytes.NewReader(stream))
		for {
			h, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			hdrEnd = append(hdrEnd, int(r.Offset()))
			recEnd = append(recEnd, int(r.Offset()+h.Size))
			if _, err := io.Copy(io.Discard, r); err != nil {
				t.Fatal(err)
			}
		}
		full := walk(NewReader(bytes.NewReader(stream)), walkRead)
		for cut := 0; cut <= len(stream); cut++ {
			// Record k is the one the cut falls in (k == len at the end).
			k, start := 0, 0
			for k < len(recEnd) && cut >= recEnd[k] {
				start = recEnd[k]
				k++
			}
			for _, mode := range []walkMode{walkRead, walkWriteTo, walkSkip} {
				for _, src := range []string{"seeker", "plain", "brokenseeker", "onebyte"} {
					var ur io.Reader = bytes.NewReader(stream[:cut])
					switch src {
					case "plain":
						ur = &plainReader{ur}
					case "brokenseeker":
						ur = &brokenSeeker{ur}
					case "onebyte":
						ur = iotest.OneByteReader(ur)
					}
					r := NewReader(ur)
					got := walk(r, mode)
					where := fmt.Sprintf("%s cut %d/%d %s %s", name, cut, len(stream), mode, src)
					switch {
					case cut == start: // at a record boundary
						if got.err != nil {
							t.Errorf("%s: error %v, want clean EOF after %d records", where, got.err, k)
						} else if len(got.headers) != k {
							t.Errorf("%s: %d records, want %d", where, len(got.headers), k)
						}
					case cut < hdrEnd[k]: // inside header, name or sparse offset
						if !errors.Is(got.err, io.ErrUnexpectedEOF) || got.errIn != "next" || len(got.headers) != k {
							t.Errorf("%s: %d records, %s error %v; want %d records then unexpected EOF from Next",
								where, len(got.headers), got.errIn, got.err, k)
						}
					case mode == walkSkip && src == "seeker":
						// go-winio's behaviour, which its two-pass export
						// relies on: Seek skips past the end of the source
						// and the next header read sees a plain EOF.
						if got.err != nil || len(got.headers) != k+1 {
							t.Errorf("%s: %d records, error %v; want %d records then io.EOF (go-winio)", where, len(got.headers), got.err, k+1)
						}
					default: // inside the payload of record k
						wantIn := "payload"
						if mode == walkSkip {
							wantIn = "next"
						}
						if !errors.Is(got.err, io.ErrUnexpectedEOF) || got.errIn != wantIn || len(got.headers) != k+1 {
							t.Errorf("%s: %d records, %s error %v; want %d records then unexpected EOF from %s",
								where, len(got.headers), got.errIn, got.err, k+1, wantIn)
						} else if mode != walkSkip && !bytes.Equal(got.payloads[k], stream[hdrEnd[k]:cut]) {
							t.Errorf("%s: partial payload %q, want %q", where, got.payloads[k], stream[hdrEnd[k]:cut])
						}
					}
					if got.err == io.EOF {
						t.Errorf("%s: bare io.EOF returned as an error", where)
					}
					if len(got.headers) > len(full.headers) || !slices.Equal(got.headers, full.headers[:len(got.headers)]) {
						t.Errorf("%s: headers differ from the full read", where)
					}
					if src != "seeker" && r.Offset() != int64(cut) {
						t.Errorf("%s: Offset() = %d, want all %d bytes consumed", where, r.Offset(), cut)
					}
				}
			}
		}
	}
}

// TestReaderCorruptHeader checks headers no backup stream can have: they
// fail with errors wrapping ErrCorrupt or ErrTooLarge, after the valid
// records before them, and the error sticks.
func TestReaderCorruptHeader(t *testing.T) {
	valid := cat(rawHeader(1, 0, 3, 0), []byte("abc"))
	tests := []struct {
		name    string
		in      []byte
		want    error // nil: the header is accepted
		records int   // records read before the error
	}{
		{"odd name size 1", cat(rawHeader(4, 0, 0, 1), []byte{'a', 0}), ErrCorrupt, 0},
		{"odd name size 3", cat(rawHeader(4, 0, 0, 3), []byte("abcd")), ErrCorrupt, 0},
		{"odd name size max", rawHeader(4, 0, 0, math.MaxUint32), ErrCorrupt, 0},
		{"size 2^63", rawHeader(1, 0, 1<<63, 0), ErrCorrupt, 0},
		{"size 2^64-1", rawHeader(1, 0, math.MaxUint64, 0), ErrCorrupt, 0},
		{"sparse size 0", cat(rawHeader(9, 8, 0, 0), make([]byte, 8)), ErrCorrupt, 0},
		{"sparse size 7", cat(rawHeader(9, 8, 7, 0), make([]byte, 15)), ErrCorrupt, 0},
		{"sparse size 2^63", rawHeader(9, 8, 1<<63, 0), ErrCorrupt, 0},
		{"name over MaxNameBytes", cat(rawHeader(4, 0, 0, MaxNameBytes+2), make([]byte, MaxNameBytes+2)), ErrTooLarge, 0},
		{"name size 2^32-2", rawHeader(4, 0, 0, math.MaxUint32-1), ErrTooLarge, 0},
		{"corrupt after a valid record", cat(valid, rawHeader(1, 0, 0, 5)), ErrCorrupt, 1},
		{"too large after a valid record", cat(valid, valid, rawHeader(1, 0, 0, 1<<20)), ErrTooLarge, 2},
		// Limits that are still valid.
		{"name of MaxNameBytes", cat(rawHeader(4, 0, 0, MaxNameBytes), bytes.Repeat([]byte{'a', 0}, MaxNameBytes/2)), nil, 1},
		{"sparse size 8", cat(rawHeader(9, 8, 8, 0), make([]byte, 8)), nil, 1},
		{"size 2^63-1 header", rawHeader(1, 0, math.MaxInt64, 0), nil, 1},
		{"unknown stream id", cat(rawHeader(42, 0xffffffff, 1, 0), []byte{7}), nil, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(bytes.NewReader(tc.in))
			var err error
			n := 0
			for {
				var h *Header
				h, err = r.Next()
				if err != nil {
					break
				}
				n++
				if _, err = io.Copy(io.Discard, r); err != nil {
					if h.Size == math.MaxInt64 && errors.Is(err, io.ErrUnexpectedEOF) {
						err = nil
						break
					}
					t.Fatalf("payload: %v", err)
				}
			}
			if err == io.EOF {
				err = nil
			}
			if n != tc.records {
				t.Errorf("%d records before the error, want %d", n, tc.records)
			}
			if tc.want == nil {
				if err != nil {
					t.Errorf("error %v, want none", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if _, err2 := r.Next(); err2 != err {
				t.Errorf("second Next: %v, want the sticky %v", err2, err)
			}
			if _, err2 := r.Read(make([]byte, 1)); err2 != err {
				t.Errorf("Read: %v, want the sticky %v", err2, err)
			}
			if _, err2 := r.WriteTo(io.Discard); err2 != err {
				t.Errorf("WriteTo: %v, want the sticky %v", err2, err)
			}
		})
	}
}

// TestReaderNames checks stream name decoding: UTF-16LE up to the first
// NUL unit, unpaired surrogates in WTF-8 as go-winio's
// windows.UTF16ToString (syscall.UTF16ToString) gives them.
func TestReaderNames(t *testing.T) {
	tests := []struct {
		name  string
		units []uint16
		want  string
	}{
		{"none", nil, ""},
		{"ads", []uint16{':', 'a', ':', '$', 'D', 'A', 'T', 'A'}, ":a:$DATA"},
		{"cut at NUL", []uint16{':', 'a', 0, 'b', 'c'}, ":a"},
		{"all NUL", []uint16{0, 0}, ""},
		{"BMP", []uint16{0xe9, 0x4e2d}, "é中"},
		{"surrogate pair", []uint16{0xd83d, 0xde00}, "😀"},
		{"lone high", []uint16{'a', 0xd800, 'b'}, "a\xed\xa0\x80b"},
		{"lone low", []uint16{0xdc00}, "\xed\xb0\x80"},
		{"high high low", []uint16{0xd800, 0xd83d, 0xde00}, "\xed\xa0\x80😀"},
		{"low then high", []uint16{0xdfff, 0xdbff}, "\xed\xbf\xbf\xed\xaf\xbf"},
		{"high at the end", []uint16{'x', 0xdbff}, "x\xed\xaf\xbf"},
		{"U+FFFD", []uint16{0xfffd}, "\uFFFD"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := utf16LE(tc.units)
			in := cat(rawHeader(4, 0, 1, uint32(len(name))), name, []byte{'x'})
			r := NewReader(bytes.NewReader(in))
			h, err := r.Next()
			if err != nil {
				t.Fatal(err)
			}
			if h.Name != tc.want {
				t.Errorf("name %q, want %q", h.Name, tc.want)
			}
			if r.Offset() != int64(HeaderSize+len(name)) {
				t.Errorf("header ends at %d, want %d", r.Offset(), HeaderSize+len(name))
			}
		})
	}
}

// TestReaderSkip checks that unread payload is skipped with Seek when the
// source can seek, and read and discarded otherwise, with the same headers.
func TestReaderSkip(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789"), 10000)
	name := utf16LEString(":x:$DATA")
	stream := cat(
		rawHeader(3, 0, 4, 0), []byte{1, 2, 3, 4},
		rawHeader(1, 0, uint64(len(big)), 0), big,
		rawHeader(4, 0, 3, uint32(len(name))), name, []byte("ads"),
		rawHeader(9, 8, 8+5, 0), make([]byte, 8), []byte("block"),
		rawHeader(2, 0, 0, 0),
	)
	wantIDs := []StreamID{StreamSecurity, StreamData, StreamAlternateData, StreamSparseBlock, StreamEAData}
	headerBytes := int64(5*HeaderSize + len(name) + 8)
	// partial is how many payload bytes of each record are read before Next.
	for _, partial := range []int{0, 1, 3} {
		for _, src := range []string{"seeker", "plain", "brokenseeker"} {
			t.Run(fmt.Sprintf("%s/read%d", src, partial), func(t *testing.T) {
				sc := &seekCounter{r: bytes.NewReader(stream)}
				var ur io.Reader = sc
				switch src {
				case "plain":
					ur = &plainReader{sc}
				case "brokenseeker":
					ur = &brokenSeeker{sc}
				}
				r := NewReader(ur)
				var ids []StreamID
				for {
					h, err := r.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					ids = append(ids, h.ID)
					if partial > 0 && h.Size > 0 {
						p := make([]byte, partial)
						if n, err := io.ReadFull(r, p); err != nil || n != partial {
							t.Fatalf("ReadFull: %d, %v", n, err)
						}
					}
				}
				if !slices.Equal(ids, wantIDs) {
					t.Errorf("ids %v, want %v", ids, wantIDs)
				}
				if r.Offset() != int64(len(stream)) {
					t.Errorf("Offset() = %d, want %d", r.Offset(), len(stream))
				}
				wantRead := int64(len(stream))
				if src == "seeker" {
					wantRead = headerBytes + int64(4*partial)
					if sc.seeks == 0 {
						t.Errorf("no Seek calls on a seeker")
					}
				}
				if sc.read != wantRead {
					t.Errorf("read %d bytes from the source, want %d", sc.read, wantRead)
				}
			})
		}
	}
}

// TestReaderSkipTruncated checks payloads that the stream does not hold
// in full and that are skipped rather than read: unexpected EOF when they
// are skipped by reading; with Seek, go-winio's clean io.EOF, except for a
// size no source can hold.
func TestReaderSkipTruncated(t *testing.T) {
	tests := []struct {
		name      string
		in        []byte
		seekerEOF bool // a seeker sees a clean io.EOF (go-winio)
	}{
		{"short payload", cat(rawHeader(1, 0, 100, 0), make([]byte, 10)), true},
		{"no payload", rawHeader(1, 0, 100, 0), true},
		{"short payload after a record", cat(rawHeader(3, 0, 1, 0), []byte{1}, rawHeader(1, 0, 100, 0), []byte("x")), true},
		{"short sparse block", cat(rawHeader(9, 8, 8+50, 0), make([]byte, 8+49)), true},
		{"size 2^63-1", cat(rawHeader(1, 0, math.MaxInt64, 0), []byte("x")), false},
		{"size 2^63-1 after a record", cat(rawHeader(3, 0, 1, 0), []byte{1}, rawHeader(1, 0, math.MaxInt64, 0), []byte("x")), false},
	}
	for _, tc := range tests {
		for _, src := range []string{"seeker", "plain", "brokenseeker"} {
			t.Run(tc.name+"/"+src, func(t *testing.T) {
				var ur io.Reader = bytes.NewReader(tc.in)
				switch src {
				case "plain":
					ur = &plainReader{ur}
				case "brokenseeker":
					ur = &brokenSeeker{ur}
				}
				r := NewReader(ur)
				var err error
				for err == nil {
					_, err = r.Next()
				}
				if src == "seeker" && tc.seekerEOF {
					if err != io.EOF {
						t.Errorf("Next: %v, want io.EOF as go-winio", err)
					}
				} else if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("Next: %v, want unexpected EOF", err)
				}
			})
		}
	}
}

// TestReaderRead checks Read's contract: short reads, io.EOF at the end of
// each payload, nothing before the first Next, zero-size payloads.
func TestReaderRead(t *testing.T) {
	stream := cat(rawHeader(1, 0, 5, 0), []byte("hello"), rawHeader(4, 0, 0, 0), rawHeader(2, 0, 1, 0), []byte("!"))
	r := NewReader(bytes.NewReader(stream))
	if n, err := r.Read(make([]byte, 4)); n != 0 || err != io.EOF {
		t.Errorf("Read before Next: %d, %v; want 0, io.EOF", n, err)
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 3)
	steps := []struct {
		n    int
		data string
		err  error
	}{
		{3, "hel", nil},
		{2, "lo", io.EOF},
		{0, "", io.EOF},
	}
	for i, s := range steps {
		n, err := r.Read(p)
		if n != s.n || string(p[:n]) != s.data || err != s.err {
			t.Errorf("Read %d: %d %q %v; want %d %q %v", i, n, p[:n], err, s.n, s.data, s.err)
		}
	}
	if n, err := r.Read(nil); n != 0 || err != io.EOF {
		t.Errorf("Read(nil) at end: %d, %v", n, err)
	}
	if h, err := r.Next(); err != nil || h.Size != 0 {
		t.Fatalf("Next: %+v, %v", h, err)
	}
	if n, err := r.Read(p); n != 0 || err != io.EOF {
		t.Errorf("Read of an empty payload: %d, %v", n, err)
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Read(make([]byte, 10)); n != 1 || err != io.EOF {
		t.Errorf("Read of the last payload: %d, %v; want 1, io.EOF", n, err)
	}
	for i := 0; i < 2; i++ {
		if _, err := r.Next(); err != io.EOF {
			t.Errorf("Next at the end (%d): %v, want io.EOF", i, err)
		}
	}
	if n, err := r.Read(p); n != 0 || err != io.EOF {
		t.Errorf("Read after the end: %d, %v", n, err)
	}
}

// plainWriter hides ReadFrom so io.CopyBuffer uses the Reader's buffer.
type plainWriter struct{ w io.Writer }

func (p *plainWriter) Write(b []byte) (int, error) { return p.w.Write(b) }

// failWriter accepts limit bytes, then fails.
type failWriter struct {
	buf   bytes.Buffer
	limit int
	err   error
}

func (f *failWriter) Write(p []byte) (int, error) {
	if f.buf.Len()+len(p) <= f.limit {
		return f.buf.Write(p)
	}
	n := f.limit - f.buf.Len()
	f.buf.Write(p[:n])
	return n, f.err
}

// TestReaderWriteTo checks the WriterTo path io.Copy takes: to writers
// with and without ReadFrom, after a partial Read, on a short stream, and
// when the destination fails (the Reader's Offset still counts every byte
// taken from the source, and the error sticks).
func TestReaderWriteTo(t *testing.T) {
	payload := bytes.Repeat([]byte("abcdefgh"), 100000) // 800 KB: several copy buffers
	stream := cat(rawHeader(1, 0, uint64(len(payload)), 0), payload, rawHeader(2, 0, 2, 0), []byte("ea"))
	tests := []struct {
		name     string
		stream   []byte
		dst      func() io.Writer
		preread  int
		wantN    int64
		wantErr  error
		wantNext bool // whether the next Next succeeds
	}{
		{"to ReaderFrom", stream, func() io.Writer { return new(bytes.Buffer) }, 0, int64(len(payload)), nil, true},
		{"to plain writer", stream, func() io.Writer { return &plainWriter{new(bytes.Buffer)} }, 0, int64(len(payload)), nil, true},
		{"after partial Read", stream, func() io.Writer { return new(bytes.Buffer) }, 1000, int64(len(payload) - 1000), nil, true},
		{"after full Read", stream, func() io.Writer { return new(bytes.Buffer) }, len(payload), 0, nil, true},
		{"short stream", stream[:HeaderSize+5000], func() io.Writer { return &plainWriter{new(bytes.Buffer)} }, 0, 5000, io.ErrUnexpectedEOF, false},
		{"failing destination", stream, func() io.Writer { return &failWriter{limit: 300000, err: errDst} }, 0, 300000, errDst, false},
	}
	for _, tc := range tests {
		for _, src := range []string{"seeker", "plain"} {
			t.Run(tc.name+"/"+src, func(t *testing.T) {
				sc := &seekCounter{r: bytes.NewReader(tc.stream)}
				var ur io.Reader = sc
				if src == "plain" {
					ur = &plainReader{sc}
				}
				r := NewReader(ur)
				if _, err := r.Next(); err != nil {
					t.Fatal(err)
				}
				if tc.preread > 0 {
					if _, err := io.ReadFull(r, make([]byte, tc.preread)); err != nil {
						t.Fatal(err)
					}
				}
				dst := tc.dst()
				n, err := r.WriteTo(dst)
				if n != tc.wantN || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
					t.Errorf("WriteTo = %d, %v; want %d, %v", n, err, tc.wantN, tc.wantErr)
				}
				if r.Offset() != sc.read {
					t.Errorf("Offset() = %d, but %d bytes were taken from the source", r.Offset(), sc.read)
				}
				if n2, err2 := r.WriteTo(dst); tc.wantErr == nil && (n2 != 0 || err2 != nil) {
					t.Errorf("second WriteTo = %d, %v; want 0, nil", n2, err2)
				} else if tc.wantErr != nil && !errors.Is(err2, tc.wantErr) {
					t.Errorf("second WriteTo = %d, %v; want the sticky %v", n2, err2, tc.wantErr)
				}
				h, err := r.Next()
				if tc.wantNext {
					if err != nil || h.ID != StreamEAData {
						t.Errorf("Next after WriteTo: %+v, %v", h, err)
					}
				} else if !errors.Is(err, tc.wantErr) {
					t.Errorf("Next after a failed WriteTo: %v, want the sticky %v", err, tc.wantErr)
				}
				if tc.wantErr == nil {
					var got []byte
					switch d := dst.(type) {
					case *bytes.Buffer:
						got = d.Bytes()
					case *plainWriter:
						got = d.w.(*bytes.Buffer).Bytes()
					}
					if !bytes.Equal(got, payload[tc.preread:]) {
						t.Errorf("copied %d bytes that differ from the payload", len(got))
					}
				}
			})
		}
	}
}

var errDst = errors.New("destination full")
var errSrc = errors.New("source failed")

// TestReaderStickyError checks that the first error other than a clean end
// sticks: a source failing inside a payload makes Read, WriteTo and Next
// all return it from then on.
func TestReaderStickyError(t *testing.T) {
	stream := cat(rawHeader(1, 0, 10, 0), []byte("0123456789"), rawHeader(2, 0, 0, 0))
	for _, useWriteTo := range []bool{false, true} {
		t.Run(fmt.Sprintf("writeto=%v", useWriteTo), func(t *testing.T) {
			// The source fails 5 bytes into the first payload.
			src := io.MultiReader(bytes.NewReader(stream[:HeaderSize+5]), iotest.ErrReader(errSrc))
			r := NewReader(src)
			if _, err := r.Next(); err != nil {
				t.Fatal(err)
			}
			var err error
			if useWriteTo {
				_, err = r.WriteTo(io.Discard)
			} else {
				_, err = io.ReadAll(r)
			}
			if !errors.Is(err, errSrc) {
				t.Fatalf("payload read: %v, want %v", err, errSrc)
			}
			if _, err := r.Next(); !errors.Is(err, errSrc) {
				t.Errorf("Next after a failed read: %v, want %v", err, errSrc)
			}
			if _, err := r.Read(make([]byte, 1)); !errors.Is(err, errSrc) {
				t.Errorf("Read after a failed read: %v, want %v", err, errSrc)
			}
			if _, err := r.WriteTo(io.Discard); !errors.Is(err, errSrc) {
				t.Errorf("WriteTo after a failed read: %v, want %v", err, errSrc)
			}
		})
	}
	t.Run("next", func(t *testing.T) {
		r := NewReader(iotest.ErrReader(errSrc))
		for i := 0; i < 3; i++ {
			if _, err := r.Next(); !errors.Is(err, errSrc) {
				t.Errorf("Next %d: %v, want %v", i, err, errSrc)
			}
		}
	})
	t.Run("sparse offset", func(t *testing.T) {
		src := io.MultiReader(bytes.NewReader(rawHeader(9, 8, 8, 0)), iotest.ErrReader(errSrc))
		r := NewReader(src)
		if _, err := r.Next(); !errors.Is(err, errSrc) {
			t.Errorf("Next: %v, want the source's error %v", err, errSrc)
		}
	})
	t.Run("name", func(t *testing.T) {
		src := io.MultiReader(bytes.NewReader(rawHeader(4, 0, 0, 4)), iotest.ErrReader(errSrc))
		r := NewReader(src)
		if _, err := r.Next(); !errors.Is(err, errSrc) {
			t.Errorf("Next: %v, want the source's error %v", err, errSrc)
		}
	})
}

// allocBytes returns the bytes allocated by f, the lowest of a few runs
// after a warm-up: shared pools (the copy buffer, io.Discard's) are a
// constant cost refilled after a GC, which the minimum leaves out.
func allocBytes(f func()) uint64 {
	f()
	best := uint64(math.MaxUint64)
	// The least of many runs: the race detector's sync.Pool drops a
	// quarter of what is put back, so any one run may allocate the
	// reader's pooled copy buffer anew (five runs all did once in CI).
	for i := 0; i < 20; i++ {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		best = min(best, after.TotalAlloc-before.TotalAlloc)
	}
	return best
}

// TestReaderBoundedMemory checks that a header's claims allocate nothing
// by themselves: memory follows the bytes actually present.
func TestReaderBoundedMemory(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		max  uint64
	}{
		{"2^62 data, 3 bytes present", cat(rawHeader(1, 0, 1<<62, 0), []byte("abc")), 2 << 10},
		{"2^63-1 sparse, offset present", cat(rawHeader(9, 8, math.MaxInt64, 0), make([]byte, 8)), 2 << 10},
		{"64 KiB name claimed, absent", rawHeader(4, 0, 0, MaxNameBytes), 8 << 10},
		{"64 KiB name claimed, 100 bytes present", cat(rawHeader(4, 0, 0, MaxNameBytes), make([]byte, 100)), 8 << 10},
		{"1000 empty records", bytes.Repeat(rawHeader(1, 0, 0, 0), 1000), 1000 * 128},
	}
	for _, tc := range tests {
		for _, mode := range []walkMode{walkSkip, walkWriteTo} {
			for _, src := range []string{"seeker", "plain"} {
				t.Run(fmt.Sprintf("%s/%s/%s", tc.name, mode, src), func(t *testing.T) {
					got := allocBytes(func() {
						var ur io.Reader = bytes.NewReader(tc.in)
						if src == "plain" {
							ur = &plainReader{ur}
						}
						r := NewReader(ur)
						for {
							if _, err := r.Next(); err != nil {
								break
							}
							if mode == walkWriteTo {
								if _, err := r.WriteTo(&plainWriter{io.Discard}); err != nil {
									break
								}
							}
						}
					})
					if got > tc.max {
						t.Errorf("allocated %d bytes for %d bytes of input, want at most %d", got, len(tc.in), tc.max)
					}
				})
			}
		}
	}
}

// TestReaderOffsetInErrors checks that header errors say where they are:
// the byte offset of the bad header.
func TestReaderOffsetInErrors(t *testing.T) {
	in := cat(rawHeader(1, 0, 3, 0), []byte("abc"), rawHeader(1, 0, 0, 7))
	_, err := readParts(NewReader(bytes.NewReader(in)))
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "offset 23") {
		t.Errorf("error %q, want ErrCorrupt naming offset 23", err)
	}
}

// halfSeeker answers Seek(0, io.SeekCurrent) but fails to move.
type halfSeeker struct{ r io.Reader }

func (h *halfSeeker) Read(p []byte) (int, error) { return h.r.Read(p) }
func (h *halfSeeker) Seek(off int64, whence int) (int64, error) {
	if off == 0 && whence == io.SeekCurrent {
		return 0, nil
	}
	return 0, errNoSeek
}

// TestReaderEdgeSources covers sources that misbehave within their
// contracts: a Seek that fails when skipping (the error sticks), and data
// returned together with io.EOF.
func TestReaderEdgeSources(t *testing.T) {
	stream := cat(rawHeader(1, 0, 3, 0), []byte("abc"), rawHeader(2, 0, 0, 0))
	r := NewReader(&halfSeeker{bytes.NewReader(stream)})
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); !errors.Is(err, errNoSeek) {
		t.Errorf("Next with a failing Seek: %v, want %v", err, errNoSeek)
	}
	if _, err := r.Next(); !errors.Is(err, errNoSeek) {
		t.Errorf("second Next: %v, want the sticky %v", err, errNoSeek)
	}

	for _, size := range []int{3, 5} { // exactly the payload; payload cut short
		in := cat(rawHeader(1, 0, uint64(size), 0), []byte("abc"))
		r := NewReader(iotest.DataErrReader(bytes.NewReader(in)))
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if string(got) != "abc" || (size == 3) != (err == nil) || size == 5 && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("size %d: ReadAll = %q, %v", size, got, err)
		}
	}
}
