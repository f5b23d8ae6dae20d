package backupstream

import (
	"bytes"
	"testing"
)

// TestDecodeName checks that DecodeName gives what Reader gives for the
// same name bytes, and that Writer encodes the result back to them.
func TestDecodeName(t *testing.T) {
	for _, units := range [][]uint16{
		nil,
		{':', 'a', ':', '$', 'D', 'A', 'T', 'A'},
		{0xe9, 0x4e2d, 0xd83d, 0xde00},
		{'a', 0xd800, 'b'},
		{0xdfff, 0xdbff},
		{0xd800, 0xd83d, 0xde00},
		{0xfffd},
		{'x', 0, 'y'},
	} {
		raw := utf16LE(units)
		got := DecodeName(raw)
		r := NewReader(bytes.NewReader(cat(rawHeader(4, 0, 0, uint32(len(raw))), raw)))
		h, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if got != h.Name {
			t.Errorf("DecodeName(%x) = %q, Reader gives %q", units, got, h.Name)
		}
		var b bytes.Buffer
		if err := NewWriter(&b).WriteHeader(&Header{ID: StreamAlternateData, Name: got}); err != nil {
			t.Fatal(err)
		}
		want := raw
		for i, u := range units {
			if u == 0 {
				want = raw[:2*i]
				break
			}
		}
		if !bytes.Equal(b.Bytes()[HeaderSize:], want) {
			t.Errorf("%q encodes to %x, want %x", got, b.Bytes()[HeaderSize:], want)
		}
	}
	if got := DecodeName([]byte{'a', 0, 'b'}); got != "a" {
		t.Errorf("odd byte: %q, want \"a\"", got)
	}
}
