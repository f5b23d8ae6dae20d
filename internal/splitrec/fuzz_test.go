package splitrec

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/vbatts/tar-split/tar/storage"
)

// FuzzUnpacker feeds arbitrary bytes to the tar-split record decoder:
// it must never panic or allocate past its field limit, and every record
// it decodes must encode back to the same bytes.
func FuzzUnpacker(f *testing.F) {
	var seed bytes.Buffer
	p := NewPacker(&seed)
	p.AddEntry(storage.Entry{Type: storage.SegmentType, Payload: make([]byte, 1024)})
	e := storage.Entry{Type: storage.FileType, Size: 5, Payload: []byte{1, 2, 3, 4}}
	e.SetName("Files/a.txt")
	p.AddEntry(e)
	p.Flush()
	f.Add(seed.Bytes())
	f.Add([]byte{2, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{1, 3, 'a', 'b'})
	f.Fuzz(func(t *testing.T, b []byte) {
		first, ok := decodeAll(t, b)
		if !ok {
			return
		}
		var out bytes.Buffer
		p := NewPacker(&out)
		for _, e := range first {
			if _, err := p.AddEntry(e); err != nil {
				return // duplicate names are refused on the way in
			}
		}
		p.Flush()
		second, ok := decodeAll(t, out.Bytes())
		if !ok || len(second) != len(first) {
			t.Fatalf("re-encoded record does not decode to %d entries", len(first))
		}
		for i := range first {
			a, b := first[i], second[i]
			if a.Type != b.Type || a.GetName() != b.GetName() || a.Size != b.Size || !bytes.Equal(a.Payload, b.Payload) {
				t.Fatalf("entry %d differs after a round trip: %+v vs %+v", i, a, b)
			}
		}
	})
}

// decodeAll decodes a whole record; false when it is malformed (the error
// must then wrap ErrCorrupt).
func decodeAll(t *testing.T, b []byte) ([]storage.Entry, bool) {
	u := NewUnpacker(bytes.NewReader(b))
	var out []storage.Entry
	for {
		e, err := u.Next()
		if errors.Is(err, io.EOF) {
			return out, true
		}
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return nil, false
		}
		out = append(out, *e)
	}
}
