package sddl

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// TestValidate: well-formed descriptors pass, and each kind of damage is
// refused with a message that says what is wrong.
func TestValidate(t *testing.T) {
	good := mustBase64(t, goldenBase64) // O:BAG:SYD:(A;;FA;;;BA): owner 20, group 36, dacl 48
	for _, s := range fuzzSeedStrings {
		sd, err := Compile(s)
		if err != nil {
			continue
		}
		if err := Validate(sd); err != nil {
			t.Errorf("Validate(Compile(%q)): %v", s, err)
		}
	}
	if err := Validate(good); err != nil {
		t.Fatalf("golden descriptor: %v", err)
	}
	edit := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	put32 := func(at int, v uint32) []byte {
		return edit(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[at:], v); return b })
	}
	put16 := func(at int, v uint16) []byte {
		return edit(func(b []byte) []byte { binary.LittleEndian.PutUint16(b[at:], v); return b })
	}
	for _, tc := range []struct {
		name string
		sd   []byte
		want string
	}{
		{"empty", nil, "0 bytes, shorter than the 20 byte header"},
		{"RAW", []byte("RAW"), "3 bytes"},
		{"revision 2", edit(func(b []byte) []byte { b[0] = 2; return b }), "revision 2"},
		{"absolute", put16(2, 0x0004), "not self-relative"},
		{"owner past the end", put32(4, 1000), "owner SID at offset 1000: out of bounds"},
		{"owner in the header", put32(4, 4), "points into the header"},
		{"group SID revision", edit(func(b []byte) []byte { b[36] = 9; return b }), "group SID at offset 36: unsupported SID revision 9"},
		{"too many sub-authorities", edit(func(b []byte) []byte { b[21] = 16; return b }), "16 sub-authorities"},
		{"sub-authorities past the end", edit(func(b []byte) []byte { b[37] = 15; return b }), "run past the end"},
		{"dacl past the end", put32(16, 200), "dacl at offset 200: out of bounds"},
		{"dacl revision", edit(func(b []byte) []byte { b[48] = 1; return b }), "unsupported ACL revision 1"},
		{"dacl size too big", put16(50, 400), "400 bytes run past the end"},
		{"dacl size too small", put16(50, 4), "smaller than the ACL header"},
		{"more ACEs than fit", put16(52, 2), "ACE 1 starts past the end"},
		{"ACE size too big", put16(58, 100), "ACE 0 has size 100"},
		{"ACE SID damaged", edit(func(b []byte) []byte { b[64] = 7; return b }), "ACE 0 SID: unsupported SID revision 7"},
		{"truncated", good[:len(good)-4], "run past the end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.sd)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate = %v, want ErrInvalid with %q", err, tc.want)
			}
		})
	}
}
