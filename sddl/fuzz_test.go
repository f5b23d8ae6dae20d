package sddl

import (
	"errors"
	"testing"
)

// fuzzSeedStrings seed FuzzCompile, and their compiled forms seed
// FuzzFormat.
var fuzzSeedStrings = []string{
	"",
	goldenSDDL,
	"O:BUG:BU",
	"this is not SDDL",
	"RAW",
	"D:(A;;FA;;;BA)O:BAG:SY",
	"O:SYG:SYD:PAI(A;;FA;;;SY)(A;OICIIO;GA;;;SY)(A;;0x1301bf;;;BA)(A;OICIIO;SDGXGWGR;;;BA)(A;;0x1200a9;;;BU)(A;OICIIO;GXGR;;;BU)",
	"D:NO_ACCESS_CONTROLS:PARAINO_ACCESS_CONTROL",
	"S:AI(AU;SAFA;FA;;;WD)(ML;;NWNR;;;HI)(AL;;;;;S-1-5)",
	"D:(OA;CI;RPWP;bf967aba-0de6-11d0-a285-00aa003049e2;;AU)(OD;;CR;;00299570-246d-11d0-a768-00aa006e0529;PS)",
	"O:S-1-0x123456789ABCD:(D;OICINPIOID;0x1f;;;S-1-5-21-1-2-3-500)",
	"O:DA",
	"D:(XA;;FA;;;WD;(Member_of {SID(BA)}))",
}

func FuzzCompile(f *testing.F) {
	for _, s := range fuzzSeedStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sd, err := Compile(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Compile(%q) error %q does not wrap ErrInvalid", s, err)
			}
			if sd != nil {
				t.Fatalf("Compile(%q) returned bytes with an error", s)
			}
			return
		}
		// Whatever Compile produces, Format must accept, and the text
		// must be a fixed point of Compile followed by Format.
		text, err := Format(sd)
		if err != nil {
			t.Fatalf("Format(Compile(%q)) = %v; sd %x", s, err, sd)
		}
		sd2, err := Compile(text)
		if err != nil {
			t.Fatalf("Compile(%q) (from Format(Compile(%q))): %v", text, s, err)
		}
		text2, err := Format(sd2)
		if err != nil || text2 != text {
			t.Fatalf("Format(Compile(%q)) = %q, %v; want %q", text, text2, err, text)
		}
	})
}

func FuzzFormat(f *testing.F) {
	f.Add([]byte("RAW"))
	f.Add([]byte{})
	f.Add(mustBase64(f, goldenBase64))
	f.Add(mustBase64(f, buBUBase64))
	for _, s := range fuzzSeedStrings {
		if sd, err := Compile(s); err == nil {
			f.Add(sd)
		}
	}
	f.Fuzz(func(t *testing.T, sd []byte) {
		if err := Validate(sd); err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("Validate(%x) error %q does not wrap ErrInvalid", sd, err)
		}
		text, err := Format(sd)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Format(%x) error %q does not wrap ErrInvalid", sd, err)
			}
			return
		}
		sd2, err := Compile(text)
		if err != nil {
			t.Fatalf("Compile(Format(%x)) = Compile(%q): %v", sd, text, err)
		}
		if err := Validate(sd2); err != nil {
			t.Fatalf("Validate(Compile(%q)): %v", text, err)
		}
		text2, err := Format(sd2)
		if err != nil || text2 != text {
			t.Fatalf("Format(Compile(%q)) = %q, %v; want it unchanged (input %x)", text, text2, err, sd)
		}
	})
}
