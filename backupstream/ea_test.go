package backupstream

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sampleEA is sample.dump.jsonl record 2's EA stream: one entry, 36 bytes
// with no padding.
const sampleEAB64 = "AAAAAAAWBQAkS0VSTkVMLlBVUkdFLkVTQkNBQ0hFAAECAwQF"

// TestEncodeEAs checks the FILE_FULL_EA_INFORMATION layout of spec §8.1.
func TestEncodeEAs(t *testing.T) {
	tests := []struct {
		name    string
		eas     []EA
		want    string // hex; spaces for reading
		wantB64 string // or base64
		wantErr error
	}{
		{name: "sample record 2: 36 bytes, no padding", eas: []EA{{Name: "$KERNEL.PURGE.ESBCACHE", Value: []byte{1, 2, 3, 4, 5}}}, wantB64: sampleEAB64},
		{name: "empty list", eas: nil, want: ""},
		{name: "empty name: 12 bytes", eas: []EA{{Name: ""}}, want: "00000000 00 00 0000 00 000000"},
		{name: "two entries, both padded", eas: []EA{{Name: "A", Value: []byte("b")}, {Name: "CD", Flags: 0x80}},
			want: "0c000000 00 01 0100 41 00 62 00" + "00000000 80 02 0000 4344 00 00"},
		{name: "three entries, the last needing no padding", eas: []EA{{Name: "X", Value: []byte("yz")}, {Name: "n"}, {Name: "abc"}},
			want: "0c000000 00 01 0200 58 00 797a" + "0c000000 00 01 0000 6e 00 0000" + "00000000 00 03 0000 616263 00"},
		{name: "flags kept", eas: []EA{{Name: "N", Flags: 0xff, Value: []byte{0}}},
			want: "00000000 ff 01 0100 4e 00 00 00"},
		{name: "name of 256 bytes", eas: []EA{{Name: "ok"}, {Name: strings.Repeat("n", 256)}}, wantErr: ErrEANameTooLarge},
		{name: "value of 65536 bytes", eas: []EA{{Name: "v", Value: make([]byte, 65536)}}, wantErr: ErrEAValueTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := EncodeEAs(tc.eas)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || got != nil {
					t.Fatalf("EncodeEAs = %x, %v; want nil, %v", got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := mustHex(t, tc.want)
			if tc.wantB64 != "" {
				want = mustB64(t, tc.wantB64)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("EncodeEAs:\ngot  %x\nwant %x", got, want)
			}
			if n := EncodedEASize(tc.eas); n != len(got) {
				t.Errorf("EncodedEASize = %d, encoded %d bytes", n, len(got))
			}
		})
	}
}

// TestEALimits checks the largest name and value the format holds.
func TestEALimits(t *testing.T) {
	eas := []EA{{Name: strings.Repeat("n", 255), Value: bytes.Repeat([]byte{7}, 65535)}}
	b, err := EncodeEAs(eas)
	if err != nil {
		t.Fatal(err)
	}
	if want := (8 + 255 + 1 + 65535 + 3) &^ 3; len(b) != want {
		t.Errorf("%d bytes, want %d", len(b), want)
	}
	got, err := DecodeEAs(b)
	if err != nil || len(got) != 1 || got[0].Name != eas[0].Name || !bytes.Equal(got[0].Value, eas[0].Value) {
		t.Errorf("DecodeEAs: %v, %v", got, err)
	}
}

// TestEAErrorTexts checks that the sentinels carry go-winio's messages,
// which the oracle's .stderr vectors show.
func TestEAErrorTexts(t *testing.T) {
	for err, want := range map[error]string{
		ErrInvalidEABuffer:   "invalid extended attribute buffer",
		ErrEANameTooLarge:    "extended attribute name too large",
		ErrEAValueTooLarge:   "extended attribute value too large",
		ErrLxSymlinkTooShort: "LX symlink buffer too short",
	} {
		if err.Error() != want {
			t.Errorf("%q, want %q", err.Error(), want)
		}
	}
}

// TestDecodeEAs checks decoding and its bounds (spec §8.1).
func TestDecodeEAs(t *testing.T) {
	badEA := loadRecords(t, "errors/bad-ea-buffer.jsonl")[1].Streams[0].DataB64
	tests := []struct {
		name    string
		in      []byte
		want    []EA
		wantErr error
	}{
		{name: "sample record 2", in: mustB64(t, sampleEAB64), want: []EA{{Name: "$KERNEL.PURGE.ESBCACHE", Value: []byte{1, 2, 3, 4, 5}}}},
		{name: "two entries", in: mustHex(t, "0c000000 00 01 0100 41 00 62 00"+"00000000 80 02 0000 4344 00 00"),
			want: []EA{{Name: "A", Value: []byte("b")}, {Name: "CD", Flags: 0x80, Value: []byte{}}}},
		{name: "empty name", in: mustHex(t, "00000000 00 00 0000 00 000000"), want: []EA{{Value: []byte{}}}},
		{name: "empty buffer", in: nil, want: nil},
		{name: "trailing bytes after the last entry ignored", in: mustHex(t, "00000000 00 01 0100 41 00 62 ffffffffffff"),
			want: []EA{{Name: "A", Value: []byte("b")}}},
		{name: "NUL after the name not checked", in: mustHex(t, "00000000 00 01 0100 41 ff 62"),
			want: []EA{{Name: "A", Value: []byte("b")}}},
		{name: "unaligned next offset followed", in: mustHex(t, "0a000000 00 01 0000 41 00"+"00000000 00 01 0000 42 00"),
			want: []EA{{Name: "A", Value: []byte{}}, {Name: "B", Value: []byte{}}}},
		{name: "next offset to the end", in: mustHex(t, "0c000000 00 01 0000 41 00 0000"), want: []EA{{Name: "A", Value: []byte{}}}},
		{name: "oracle bad-ea-buffer", in: mustB64(t, badEA), wantErr: ErrInvalidEABuffer},
		{name: "shorter than a header", in: mustHex(t, "00000000 00 00 00"), wantErr: ErrInvalidEABuffer},
		{name: "header without the NUL", in: mustHex(t, "00000000 00 00 0000"), wantErr: ErrInvalidEABuffer},
		{name: "name past the end", in: mustHex(t, "00000000 00 05 0000 41 00"), wantErr: ErrInvalidEABuffer},
		{name: "value past the end", in: mustHex(t, "00000000 00 01 0500 41 00 62"), wantErr: ErrInvalidEABuffer},
		{name: "next offset past the end", in: mustHex(t, "0d000000 00 01 0000 41 00 0000"), wantErr: ErrInvalidEABuffer},
		{name: "next entry truncated", in: mustHex(t, "0c000000 00 01 0000 41 00 0000 00000000"), wantErr: ErrInvalidEABuffer},
		{name: "huge next offset", in: mustHex(t, "ffffffff 00 01 0000 41 00 0000"), wantErr: ErrInvalidEABuffer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeEAs(tc.in)
			if tc.wantErr != nil {
				if err != tc.wantErr || got != nil {
					t.Fatalf("DecodeEAs = %v, %v; want nil, %v", got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !equalEAs(got, tc.want) {
				t.Errorf("DecodeEAs:\ngot  %v\nwant %v", got, tc.want)
			}
		})
	}
}

func equalEAs(a, b []EA) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Flags != b[i].Flags || !bytes.Equal(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}

// TestEARoundTrip encodes lists of every shape and decodes them back.
func TestEARoundTrip(t *testing.T) {
	for n := 0; n <= 6; n++ {
		var eas []EA
		for i := 0; i < n; i++ {
			eas = append(eas, EA{
				Name:  strings.Repeat(string(rune('A'+i)), i*37%256),
				Flags: uint8(i * 0x41),
				Value: bytes.Repeat([]byte{byte(i)}, i*i*i*97%1000),
			})
		}
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			b, err := EncodeEAs(eas)
			if err != nil {
				t.Fatal(err)
			}
			if len(b)%4 != 0 {
				t.Errorf("%d bytes, not a multiple of 4", len(b))
			}
			got, err := DecodeEAs(b)
			if err != nil {
				t.Fatal(err)
			}
			if !equalEAs(got, eas) {
				t.Errorf("round trip:\ngot  %v\nwant %v", got, eas)
			}
		})
	}
}

// TestDecodeEAsAliases documents that values alias the input but cannot
// grow into the next entry.
func TestDecodeEAsAliases(t *testing.T) {
	b, _ := EncodeEAs([]EA{{Name: "a", Value: []byte("x")}, {Name: "b", Value: []byte("y")}})
	eas, err := DecodeEAs(b)
	if err != nil {
		t.Fatal(err)
	}
	_ = append(eas[0].Value, '!')
	if eas2, _ := DecodeEAs(b); !equalEAs(eas, eas2) {
		t.Errorf("append to a value changed the buffer: %v", eas2)
	}
}

func TestEAString(t *testing.T) {
	if s := (EA{Name: "user.x", Flags: 0x80, Value: []byte("abc")}).String(); s != "user.x (flags 0x80, 3 bytes)" {
		t.Errorf("String() = %q", s)
	}
}
