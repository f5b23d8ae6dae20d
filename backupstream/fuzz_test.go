package backupstream

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"runtime"
	"testing"
)

// fuzzRecord is one record of a fuzzed stream as a plain reader saw it.
type fuzzRecord struct {
	hdr      Header
	start    int64 // offset of the header
	hdrEnd   int64 // offset of the payload
	payload  []byte
	complete bool // the whole payload was read
}

// parseForFuzz reads data through a plain reader with Read into
// preallocated space, so that what it allocates is the Reader's own doing
// and can be measured.
func parseForFuzz(data []byte, recs []fuzzRecord, arena []byte) ([]fuzzRecord, int64, error) {
	r := NewReader(&plainReader{bytes.NewReader(data)})
	var p [512]byte
	for {
		start := r.Offset()
		h, err := r.Next()
		if err == io.EOF {
			return recs, r.Offset(), nil
		}
		if err != nil {
			return recs, r.Offset(), err
		}
		rec := fuzzRecord{hdr: *h, start: start, hdrEnd: r.Offset()}
		from := len(arena)
		for {
			n, err2 := r.Read(p[:])
			arena = append(arena, p[:n]...) // cap(arena) is len(data): never grows
			if err2 == io.EOF {
				rec.complete = true
				break
			}
			if err2 != nil {
				err = err2
				break
			}
		}
		rec.payload = arena[from:len(arena):len(arena)]
		recs = append(recs, rec)
		if err != nil {
			return recs, r.Offset(), err
		}
	}
}

// allowedStreamErr reports whether err is one of the kinds a Reader may
// return for bad input.
func allowedStreamErr(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, ErrCorrupt) || errors.Is(err, ErrTooLarge)
}

// rawNameHasNUL reports whether the name bytes of the header at start hold
// a NUL unit (where the Reader stops, so the name does not re-encode).
func rawNameHasNUL(data []byte, start int64) bool {
	size := int64(binary.LittleEndian.Uint32(data[start+16:]))
	name := data[start+HeaderSize : start+HeaderSize+size]
	for i := 0; i+1 < len(name); i += 2 {
		if name[i] == 0 && name[i+1] == 0 {
			return true
		}
	}
	return false
}

func addStreamSeeds(f *testing.F) {
	for _, file := range []string{"sample.dump.jsonl", "sample.rebuilt.dump.jsonl", "errors/truncated-stream.jsonl"} {
		for _, rec := range loadRecords(f, file) {
			if rec.StreamB64 != nil {
				f.Add(mustB64(f, *rec.StreamB64))
			}
		}
	}
	for _, name := range []string{"sparse-seek-back", "sparse-ads", "unknown-stream-after-data", "bad-ea-buffer"} {
		f.Add(encodeParts(f, goldenParts(f, loadRecords(f, "errors/"+name+".jsonl")[1])))
	}
	sparse, _ := sparseStream()
	f.Add(sparse)
	f.Add(cat(rawHeader(4, 0, 1, 6), utf16LE([]uint16{'a', 0, 0xd800}), []byte("x")))
	f.Add(cat(rawHeader(4, 0, 0, 4), utf16LE([]uint16{0xdc00, 0xd83d})))
	f.Add(rawHeader(1, 0, math.MaxInt64, 0))
	f.Add(rawHeader(9, 8, 7, 0))
	f.Add(rawHeader(4, 0, 0, MaxNameBytes))
	f.Add([]byte{})
}

// FuzzBackupStreamReader reads any bytes as a backup stream. It checks: no
// panic; only the documented error kinds; a clean io.EOF only when every
// byte was consumed; memory that follows the input, not the headers'
// claims; Read, WriteTo and Seek-skipping agree; and every complete record
// re-encodes with Writer to the same bytes (or, when its name held a NUL
// unit, to a record that reads back the same).
func FuzzBackupStreamReader(f *testing.F) {
	addStreamSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		// 1. Read pass, with allocation measured. The fuzzing worker's own
		// goroutines may allocate meanwhile: a Reader that over-allocates
		// does so on every attempt.
		var (
			recs []fuzzRecord
			off  int64
			err  error
		)
		limit := 4<<10 + 16*uint64(len(data))
		var alloc uint64
		for attempt := 0; attempt < 3; attempt++ {
			recs = make([]fuzzRecord, 0, len(data)/HeaderSize+1)
			arena := make([]byte, 0, len(data))
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			recs, off, err = parseForFuzz(data, recs, arena)
			runtime.ReadMemStats(&after)
			if alloc = after.TotalAlloc - before.TotalAlloc; alloc <= limit {
				break
			}
		}
		if alloc > limit {
			t.Errorf("allocated %d bytes reading %d bytes", alloc, len(data))
		}
		if err != nil && !allowedStreamErr(err) {
			t.Fatalf("unexpected error kind: %v", err)
		}
		if err == nil && off != int64(len(data)) {
			t.Fatalf("clean EOF at offset %d of %d", off, len(data))
		}
		if off > int64(len(data)) {
			t.Fatalf("offset %d past the %d bytes of input", off, len(data))
		}
		for i, rec := range recs {
			if rec.complete != (int64(len(rec.payload)) == rec.hdr.Size) || int64(len(rec.payload)) > rec.hdr.Size {
				t.Fatalf("record %d: %d payload bytes of %d, complete %v", i, len(rec.payload), rec.hdr.Size, rec.complete)
			}
			if !rec.complete && (i != len(recs)-1 || !errors.Is(err, io.ErrUnexpectedEOF)) {
				t.Fatalf("record %d incomplete without unexpected EOF: %v", i, err)
			}
		}

		// 2. WriteTo pass (plain reader) and Seek-skip pass agree.
		r := NewReader(&plainReader{bytes.NewReader(data)})
		for i := 0; ; i++ {
			h, err2 := r.Next()
			if err2 != nil {
				if (err2 == io.EOF) != (err == nil) || err2 != io.EOF && !errors.Is(err, unwrapKind(err2)) || i != len(recs) {
					t.Fatalf("WriteTo pass ended at record %d with %v; Read pass at %d with %v", i, err2, len(recs), err)
				}
				break
			}
			var buf bytes.Buffer
			_, err2 = r.WriteTo(&buf)
			if i >= len(recs) || *h != recs[i].hdr || !bytes.Equal(buf.Bytes(), recs[i].payload) {
				t.Fatalf("WriteTo pass record %d differs", i)
			}
			if err2 != nil {
				if !errors.Is(err2, io.ErrUnexpectedEOF) || recs[i].complete {
					t.Fatalf("WriteTo error %v on record %d", err2, i)
				}
				break
			}
		}
		sr := NewReader(bytes.NewReader(data))
		for i := 0; ; i++ {
			h, err2 := sr.Next()
			if err2 != nil {
				if i > len(recs) || !(err2 == io.EOF || allowedStreamErr(err2)) {
					t.Fatalf("Seek pass ended at record %d of %d: %v", i, len(recs), err2)
				}
				// A header error is found at the same place either way.
				if err2 != io.EOF && i == len(recs) && err != nil && !errors.Is(err, unwrapKind(err2)) {
					t.Fatalf("Seek pass error %v, Read pass %v", err2, err)
				}
				break
			}
			if i >= len(recs) || *h != recs[i].hdr {
				t.Fatalf("Seek pass record %d: %+v differs", i, h)
			}
		}

		// 3. Complete records re-encode.
		var all bytes.Buffer
		aw := NewWriter(&all)
		var complete []fuzzRecord
		for i, rec := range recs {
			if !rec.complete {
				break
			}
			complete = append(complete, rec)
			var one bytes.Buffer
			w := NewWriter(&one)
			h := rec.hdr
			if err := w.WriteHeader(&h); err != nil {
				t.Fatalf("record %d: WriteHeader(%+v): %v", i, h, err)
			}
			if _, err := w.Write(rec.payload); err != nil {
				t.Fatalf("record %d: Write: %v", i, err)
			}
			if err := w.Close(); err != nil {
				t.Fatalf("record %d: Close: %v", i, err)
			}
			orig := data[rec.start : rec.hdrEnd+rec.hdr.Size]
			if !rawNameHasNUL(data, rec.start) && !bytes.Equal(one.Bytes(), orig) {
				t.Fatalf("record %d re-encodes differently:\norig %x\ngot  %x", i, orig, one.Bytes())
			}
			if err := aw.WriteHeader(&h); err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(aw, bytes.NewReader(rec.payload)); err != nil {
				t.Fatal(err)
			}
		}
		if err := aw.Close(); err != nil {
			t.Fatal(err)
		}
		back, off2, err := parseForFuzz(all.Bytes(), nil, nil)
		if err != nil || off2 != int64(all.Len()) || len(back) != len(complete) {
			t.Fatalf("re-encoded stream reads back %d of %d records, %v", len(back), len(complete), err)
		}
		for i := range back {
			if back[i].hdr != complete[i].hdr || !bytes.Equal(back[i].payload, complete[i].payload) {
				t.Fatalf("record %d reads back as %+v, want %+v", i, back[i].hdr, complete[i].hdr)
			}
		}
	})
}

// unwrapKind returns the sentinel kind of a Reader error.
func unwrapKind(err error) error {
	for _, k := range []error{io.ErrUnexpectedEOF, ErrCorrupt, ErrTooLarge} {
		if errors.Is(err, k) {
			return k
		}
	}
	return err
}

// FuzzDecodeEAs decodes any bytes as an EA list: no panic, only
// ErrInvalidEABuffer, no more entries than bytes, and what decodes
// re-encodes (flags kept) to a list that decodes to the same entries and
// re-encodes to the same bytes.
func FuzzDecodeEAs(f *testing.F) {
	f.Add(mustB64(f, sampleEAB64))
	f.Add(mustB64(f, loadRecords(f, "errors/bad-ea-buffer.jsonl")[1].Streams[0].DataB64))
	for _, eas := range [][]EA{
		{{Name: "A", Value: []byte("b")}, {Name: "CD", Flags: 0x80}},
		{{Name: ""}},
		{{Name: "X", Value: []byte("yz")}, {Name: "n"}, {Name: "abc", Flags: 1}},
	} {
		b, err := EncodeEAs(eas)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{10, 0, 0, 0, 0, 1, 0, 0, 'A', 0, 0, 0, 0, 0, 0, 1, 0, 0, 'B', 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		eas, err := DecodeEAs(data)
		if err != nil {
			if err != ErrInvalidEABuffer || eas != nil {
				t.Fatalf("DecodeEAs = %v, %v", eas, err)
			}
			return
		}
		if len(eas) > len(data) {
			t.Fatalf("%d entries from %d bytes", len(eas), len(data))
		}
		enc, err := EncodeEAs(eas)
		if err != nil {
			t.Fatalf("EncodeEAs of decoded entries: %v", err)
		}
		if len(enc) != EncodedEASize(eas) {
			t.Fatalf("EncodedEASize %d, encoded %d", EncodedEASize(eas), len(enc))
		}
		again, err := DecodeEAs(enc)
		if err != nil {
			t.Fatalf("DecodeEAs of the re-encoding: %v", err)
		}
		if !equalEAs(again, eas) {
			t.Fatalf("round trip:\ngot  %v\nwant %v", again, eas)
		}
		enc2, err := EncodeEAs(again)
		if err != nil || !bytes.Equal(enc2, enc) {
			t.Fatalf("second encoding differs: %v", err)
		}
	})
}

// FuzzDecodeReparsePoint decodes any bytes as a reparse buffer: no panic,
// only the documented errors, a Tag() that matches the buffer, and what
// decodes as a symlink, mount point or LX symlink re-encodes and decodes
// to the same target (symlinks and mount points within
// ReparseTargetFits; LX targets never hold a NUL, which ends them).
func FuzzDecodeReparsePoint(f *testing.F) {
	for _, file := range []string{"sample.dump.jsonl", "sample.rebuilt.dump.jsonl"} {
		for _, rec := range loadRecords(f, file) {
			for _, s := range rec.Streams {
				if s.ID == uint32(StreamReparseData) {
					f.Add(mustB64(f, s.DataB64))
				}
			}
		}
	}
	for _, name := range []string{"reparse-truncated", "reparse-unsupported-tag"} {
		f.Add(mustB64(f, loadRecords(f, "errors/"+name+".jsonl")[1].Streams[0].DataB64))
	}
	f.Add(EncodeReparsePoint(&ReparsePoint{Target: "/usr/bin/foo", IsLxSymlink: true}))
	f.Add(EncodeReparsePoint(&ReparsePoint{Target: `\\server\share\😀`}))
	f.Add(nameReparse(ReparseTagSymlink, `\??\C:\Other`, `C:\Shown\Target`, 0))
	f.Add(reparseHeader(ReparseTagSymlink, 0, []byte{0, 0, 0, 0, 0xff, 0xff, 2, 0, 0, 0, 0, 'A', 0}))
	f.Add(reparseHeader(ReparseTagMountPoint, 0, []byte{0, 0, 0, 0, 0, 0, 4, 0, 0, 0xd8, 'A', 0}))
	f.Fuzz(func(t *testing.T, data []byte) {
		rp, err := DecodeReparsePoint(data)
		var ue *UnsupportedReparsePointError
		switch {
		case err == nil:
		case errors.As(err, &ue):
			if tag, _ := ReparseTag(data); ue.Tag != tag {
				t.Fatalf("unsupported tag %#x, buffer says %#x", ue.Tag, tag)
			}
			return
		case errors.Is(err, ErrTruncatedReparse), err == ErrLxSymlinkTooShort:
			if rp != nil {
				t.Fatalf("value %+v with error %v", rp, err)
			}
			return
		default:
			t.Fatalf("unexpected error: %v", err)
		}
		if tag, _ := ReparseTag(data); rp.Tag() != tag {
			t.Fatalf("Tag() %#x, buffer %#x", rp.Tag(), tag)
		}
		if !rp.IsLxSymlink && !ReparseTargetFits(rp.Target) {
			return
		}
		enc := EncodeReparsePoint(rp)
		back, err := DecodeReparsePoint(enc)
		if err != nil {
			t.Fatalf("decoding the re-encoding of %+v: %v", rp, err)
		}
		if *back != *rp {
			t.Fatalf("round trip: %+v, want %+v", back, rp)
		}
		if !bytes.Equal(EncodeReparsePoint(back), enc) {
			t.Fatalf("second encoding differs")
		}
	})
}
