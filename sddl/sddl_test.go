package sddl

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// Golden vectors produced with Wine's
// ConvertStringSecurityDescriptorToSecurityDescriptorW.
const (
	goldenSDDL   = "O:BAG:SYD:(A;;FA;;;BA)"
	goldenBase64 = "AQAEgBQAAAAkAAAAAAAAADAAAAABAgAAAAAABSAAAAAgAgAAAQEAAAAAAAUSAAAAAgAgAAEAAAAAABgA/wEfAAECAAAAAAAFIAAAACACAAA="
	buBUBase64   = "AQAAgBQAAAAkAAAAAAAAAAAAAAABAgAAAAAABSAAAAAhAgAAAQIAAAAAAAUgAAAAIQIAAA=="
)

func mustBase64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// unhex decodes hex that may contain spaces and newlines for readability.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCompileGolden(t *testing.T) {
	want := mustBase64(t, goldenBase64)
	if len(want) != 80 {
		t.Fatalf("golden vector is %d bytes, want 80", len(want))
	}
	got, err := Compile(goldenSDDL)
	if err != nil {
		t.Fatalf("Compile(%q): %v", goldenSDDL, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Compile(%q)\n got %s\nwant %s", goldenSDDL, base64.StdEncoding.EncodeToString(got), goldenBase64)
	}
}

// TestCompileLayout checks binary output that was derived by hand from the
// structure definitions, one feature at a time.
func TestCompileLayout(t *testing.T) {
	tests := []struct {
		name, sddl, hex string
	}{
		{
			name: "empty string is a bare self-relative header",
			sddl: "",
			hex:  "01000080 00000000 00000000 00000000 00000000",
		},
		{
			name: "spaces only",
			sddl: "   ",
			hex:  "01000080 00000000 00000000 00000000 00000000",
		},
		{
			name: "owner and group only",
			sddl: "O:BUG:BU",
			// Same bytes as the Format golden vector.
			hex: "01000080 14000000 24000000 00000000 00000000" +
				"01020000 00000005 20000000 21020000" +
				"01020000 00000005 20000000 21020000",
		},
		{
			name: "components are laid out in string order, as Wine does",
			sddl: "D:(A;;FA;;;BA)O:BA",
			hex: "01000480 34000000 00000000 00000000 14000000" +
				"02002000 01000000" +
				"00001800 ff011f00 01020000 00000005 20000000 20020000" +
				"01020000 00000005 20000000 20020000",
		},
		{
			name: "NO_ACCESS_CONTROL is a NULL DACL",
			sddl: "D:NO_ACCESS_CONTROL",
			hex:  "01000480 00000000 00000000 00000000 00000000",
		},
		{
			name: "protected NULL DACL",
			sddl: "D:PNO_ACCESS_CONTROL",
			hex:  "01000490 00000000 00000000 00000000 00000000",
		},
		{
			name: "empty DACL",
			sddl: "D:",
			hex:  "01000480 00000000 00000000 00000000 14000000 02000800 00000000",
		},
		{
			name: "DACL flags map to SE_DACL_* bits",
			sddl: "D:PARAI",
			hex:  "01000495 00000000 00000000 00000000 14000000 02000800 00000000",
		},
		{
			name: "SACL flags map to SE_SACL_* bits",
			sddl: "S:PAI(AU;SAFA;FA;;;WD)",
			hex: "010010a8 00000000 00000000 14000000 00000000" +
				"02001c00 01000000" +
				"02c01400 ff011f00 01010000 00000001 00000000",
		},
		{
			name: "mandatory label",
			sddl: "S:(ML;;NW;;;LW)",
			hex: "01001080 00000000 00000000 14000000 00000000" +
				"02001c00 01000000" +
				"11001400 02000000 01010000 00000010 00100000",
		},
		{
			name: "all ACE flags, combined rights and a domain SID literal",
			sddl: "O:S-1-5-21-1-2-3-500D:(D;OICINPIOIDSAFA;GRGWGXGA;;;S-1-5-21-1-2-3-500)",
			hex: "01000480 14000000 00000000 00000000 30000000" +
				"01050000 00000005 15000000 01000000 02000000 03000000 f4010000" +
				"02002c00 01000000" +
				"01df2400 000000f0" +
				"01050000 00000005 15000000 01000000 02000000 03000000 f4010000",
		},
		{
			name: "object ACE makes the ACL revision 4",
			sddl: "D:(OA;CI;RP;bf967aba-0de6-11d0-a285-00aa003049e2;;AU)",
			hex: "01000480 00000000 00000000 00000000 14000000" +
				"04003000 01000000" +
				"05022800 10000000 01000000" +
				"ba7a96bf e60dd011 a28500aa 003049e2" +
				"01010000 00000005 0b000000",
		},
		{
			name: "object ACE with only an inherited object type",
			sddl: "D:(OD;;WP;;BF967ABA-0DE6-11D0-A285-00AA003049E2;WD)",
			hex: "01000480 00000000 00000000 00000000 14000000" +
				"04003000 01000000" +
				"06002800 20000000 02000000" +
				"ba7a96bf e60dd011 a28500aa 003049e2" +
				"01010000 00000001 00000000",
		},
		{
			name: "48-bit identifier authority and no sub-authorities",
			sddl: "O:S-1-0x123456789ABC",
			hex: "01000080 14000000 00000000 00000000 00000000" +
				"01001234 56789abc",
		},
		{
			name: "hex authority followed by a D: component",
			sddl: "O:S-1-0x123456789ABCD:",
			hex: "01000480 14000000 00000000 00000000 1c000000" +
				"01001234 56789abc" +
				"02000800 00000000",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := unhex(t, tt.hex)
			got, err := Compile(tt.sddl)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tt.sddl, err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("Compile(%q)\n got %x\nwant %x", tt.sddl, got, want)
			}
		})
	}
}

func TestFormatGolden(t *testing.T) {
	tests := []struct {
		name string
		sd   []byte
		want string
	}{
		{"owner and group", mustBase64(t, buBUBase64), "O:BUG:BU"},
		{"compile golden vector", mustBase64(t, goldenBase64), goldenSDDL},
		{
			// The order Windows' own RtlMakeSelfRelativeSD uses: DACL
			// first, then owner and group.
			name: "windows native layout",
			sd: unhex(t, "01000480 34000000 44000000 00000000 14000000"+
				"02002000 01000000"+
				"00001800 ff011f00 01020000 00000005 20000000 20020000"+
				"01020000 00000005 20000000 20020000"+
				"01010000 00000005 12000000"),
			want: goldenSDDL,
		},
		{
			name: "DACL offset without SE_DACL_PRESENT is ignored",
			sd:   unhex(t, "01000080 00000000 00000000 00000000 14000000 02000800 00000000"),
			want: "",
		},
		{
			name: "defaulted bits cannot be expressed and are ignored",
			sd:   unhex(t, "01002f80 00000000 00000000 00000000 00000000"),
			want: "D:NO_ACCESS_CONTROL",
		},
		{
			name: "ACE padding after the SID is ignored",
			sd: unhex(t, "01000480 00000000 00000000 00000000 14000000"+
				"02002000 01000000"+
				"00001800 ff011f00 01010000 00000001 00000000 deadbeef"),
			want: "D:(A;;FA;;;WD)",
		},
		{
			name: "ACL revision 3 and unaligned offsets are accepted",
			sd: unhex(t, "01000480 00000000 00000000 00000000 15000000"+
				"ff"+
				"03001c00 01000000"+
				"00001400 00000000 01010000 00000001 00000000"),
			want: "D:(A;;;;;WD)",
		},
		{
			name: "mask with a bit that has no code prints as hex",
			sd: unhex(t, "01000480 00000000 00000000 00000000 14000000"+
				"02001c00 01000000"+
				"00031400 a9001200 01010000 00000001 00000000"),
			want: "D:(A;OICI;0x1200a9;;;WD)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Format(tt.sd)
			if err != nil {
				t.Fatalf("Format(%x): %v", tt.sd, err)
			}
			if got != tt.want {
				t.Fatalf("Format(%x) = %q, want %q", tt.sd, got, tt.want)
			}
		})
	}
}

// TestRoundTrip compiles each string, formats the result, checks the
// canonical text, and compiles that text again.
func TestRoundTrip(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{goldenSDDL, goldenSDDL},
		{"O:BUG:BU", "O:BUG:BU"},
		{"D:(A;;FA;;;BA)O:BAG:SY", goldenSDDL},
		{"G:UDO:AC", "O:ACG:UD"},
		{" O:ba G:sy D:P (A; OICI ; FA ;;; s-1-5-32-544 ) ", "O:BAG:SYD:P(A;OICI;FA;;;BA)"},
		{"D:PAI(A;OICIID;FA;;;SY)(A;OICIID;0x1200a9;;;BU)", "D:PAI(A;OICIID;FA;;;SY)(A;OICIID;0x1200a9;;;BU)"},
		{"D:AIAR(A;;GA;;;WD)", "D:ARAI(A;;GA;;;WD)"},
		{"D:(A;;RPWPCCDCLCSWRCWDWOGA;;;CO)", "D:(A;;CCDCLCSWRPWPRCWDWOGA;;;CO)"},
		{"D:(A;;0x1f01ff;;;BA)", "D:(A;;FA;;;BA)"},
		{"D:(A;;0X1F01FF;;;BA)", "D:(A;;FA;;;BA)"},
		{"D:(A;;FRFWFX;;;BA)", "D:(A;;0x1201bf;;;BA)"},
		{"D:(A;;KX;;;BA)(A;;KA;;;BA)(A;;KW;;;BA)", "D:(A;;KR;;;BA)(A;;KA;;;BA)(A;;KW;;;BA)"},
		{"D:(A;;0x1;;;BA)", "D:(A;;CC;;;BA)"},
		{"D:(A;;0x10SD;;;BA)", "D:(A;;RPSD;;;BA)"},
		{"D:(A;;;;;WD)(A;;0x0;;;WD)", "D:(A;;;;;WD)(A;;;;;WD)"},
		{"D:AR(A;;0x80000000;;;AN)", "D:AR(A;;GR;;;AN)"},
		{"D:(D;OICI;0x00000001;;;S-1-5-21-1004336348-1177238915-682003330-512)", "D:(D;OICI;CC;;;S-1-5-21-1004336348-1177238915-682003330-512)"},
		{"D:(A;;FX;;;RC)(A;;FW;;;WR)(AL;;FW;;;NU)", "D:(A;;FX;;;RC)(A;;FW;;;WR)(AL;;FW;;;NU)"},
		{"S:AI(AU;SAFA;FA;;;WD)", "S:AI(AU;SAFA;FA;;;WD)"},
		{"S:P(ML;;NWNR;;;HI)", "S:P(ML;;NRNW;;;HI)"},
		{"S:(ML;;0x8;;;ME)", "S:(ML;;SW;;;ME)"},
		{"D:NO_ACCESS_CONTROL", "D:NO_ACCESS_CONTROL"},
		{"D:PAINO_ACCESS_CONTROL", "D:PAINO_ACCESS_CONTROL"},
		{"S:NO_ACCESS_CONTROLD:", "D:S:NO_ACCESS_CONTROL"},
		{"D:", "D:"},
		{"S:", "S:"},
		{"O:S-1-5-0x20-544", "O:BA"},
		{"O:S-1-5-32-0x220", "O:BA"},
		{"O:S-1-5", "O:S-1-5"},
		{"O:S-1-4294967295-4294967295", "O:S-1-4294967295-4294967295"},
		{"O:S-1-4294967296", "O:S-1-0x000100000000"},
		{"O:S-1-0x123456789ABC-1", "O:S-1-0x123456789ABC-1"},
		{"O:S-1-0x123456789ABCD:", "O:S-1-0x123456789ABCD:"},
		{"O:S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15", "O:S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15"},
		{"O:S-1-5-84-0-0-0-0-0G:S-1-15-2-1", "O:UDG:AC"},
		{"D:(A;;FA;;;LW)(A;;FA;;;ME)(A;;FA;;;MP)(A;;FA;;;HI)(A;;FA;;;SI)", "D:(A;;FA;;;LW)(A;;FA;;;ME)(A;;FA;;;MP)(A;;FA;;;HI)(A;;FA;;;SI)"},
		{"D:(OA;;CR;00299570-246D-11D0-A768-00AA006E0529;bf967aba-0de6-11d0-a285-00aa003049e2;PS)(OD;;WP;;4828cc14-1437-45bc-9b07-ad6f015e5f28;AU)(OU;SA;WP;;;WD)(OL;;;;;WD)",
			"D:(OA;;CR;00299570-246d-11d0-a768-00aa006e0529;bf967aba-0de6-11d0-a285-00aa003049e2;PS)(OD;;WP;;4828cc14-1437-45bc-9b07-ad6f015e5f28;AU)(OU;SA;WP;;;WD)(OL;;;;;WD)"},
		{"O:SYG:SYD:PAI(A;;FA;;;SY)(A;OICIIO;GA;;;SY)(A;;0x1301bf;;;BA)(A;OICIIO;SDGXGWGR;;;BA)(A;;0x1200a9;;;BU)(A;OICIIO;GXGR;;;BU)(A;;FA;;;S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464)",
			"O:SYG:SYD:PAI(A;;FA;;;SY)(A;OICIIO;GA;;;SY)(A;;0x1301bf;;;BA)(A;OICIIO;SDGXGWGR;;;BA)(A;;0x1200a9;;;BU)(A;OICIIO;GXGR;;;BU)(A;;FA;;;S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464)"},
	}
	// Every alias that Compile accepts must come back unchanged.
	for _, a := range wellKnownSIDs {
		s := "O:" + a.alias
		tests = append(tests, struct{ in, want string }{s, s})
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			sd, err := Compile(tt.in)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tt.in, err)
			}
			got, err := Format(sd)
			if err != nil {
				t.Fatalf("Format(Compile(%q)): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("Format(Compile(%q)) = %q, want %q", tt.in, got, tt.want)
			}
			sd2, err := Compile(got)
			if err != nil {
				t.Fatalf("Compile(%q): %v", got, err)
			}
			got2, err := Format(sd2)
			if err != nil || got2 != got {
				t.Fatalf("Format(Compile(%q)) = %q, %v; want it unchanged", got, got2, err)
			}
			// Format prints O, G, D, S and Compile lays components out in
			// string order, so the bytes are identical whenever the input
			// was already in that order.
			if canonicalOrder(tt.in) && !bytes.Equal(sd, sd2) {
				t.Fatalf("recompiled bytes differ:\n got %x\nwant %x", sd2, sd)
			}
		})
	}
}

// canonicalOrder reports whether the component tags of s appear in the
// order O, G, D, S. It is a test helper for inputs without ':' elsewhere.
func canonicalOrder(s string) bool {
	last := -1
	for i := 1; i < len(s); i++ {
		if s[i] != ':' {
			continue
		}
		rank := strings.IndexByte("OGDS", s[i-1])
		if rank < last {
			return false
		}
		last = rank
	}
	return true
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		in   string
		want string // substring of the error, including the offset
	}{
		{"this is not SDDL", `expected a component (O:, G:, D: or S:) at offset 0`},
		{"O:XX", `unknown SID alias "XX" at offset 2`},
		{"O:DA", `domain-relative SID alias "DA" is not supported`},
		{"O:DAG:SY", `write S-1-5-21-<domain>-512) at offset 2`},
		{"D:(A;;FA;;;DU)", `domain-relative SID alias "DU" is not supported (no domain SID to expand it with; write S-1-5-21-<domain>-513) at offset 11`},
		{"O:la", `domain-relative SID alias "la"`},
		{"X:BA", `unknown component "X:" at offset 0`},
		{"d:(A;;FA;;;BA)", `unknown component "d:" at offset 0`},
		{"O:BAO:SY", `duplicate owner component "O:" at offset 4`},
		{"G:BAG:SY", `duplicate group component`},
		{"D:D:", `duplicate dacl component "D:" at offset 2`},
		{"S:S:", `duplicate sacl component`},
		{"O:", `expected a SID (S-1-... or a two-letter alias), found end of input at offset 2`},
		{"O:G:SY", `expected a SID (S-1-... or a two-letter alias), found "G:SY" at offset 2`},
		{"O:B", `expected a SID`},
		{"O:BAxyz", `unexpected "xyz", expected a component (O:, G:, D: or S:) at offset 4`},
		{"O:BA\x00", `at offset 4`},
		{"O:S-2-5-18", `unsupported SID revision 2 (only 1 exists) at offset 4`},
		{"O:S-1", `SID literal has no identifier authority at offset 5`},
		{"O:S-1-", `expected a number for the SID identifier authority, found end of input at offset 6`},
		{"O:S-1-5-", `expected a number for the SID sub-authority`},
		{"O:S--1-5", `expected a number for the SID revision`},
		{"O:S-1-5-4294967296", `SID sub-authority "4294967296" is out of range at offset 8`},
		{"O:S-1-5-0x100000000", `SID sub-authority "0x100000000" is out of range`},
		{"O:S-1-281474976710656", `SID identifier authority "281474976710656" is out of range at offset 6`},
		{"O:S-1-99999999999999999999999", `is out of range`},
		{"O:S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16", `SID has more than 15 sub-authorities at offset 2`},
		{"D:(A;;FA;;;BA", `ACE has no closing parenthesis at offset 2`},
		{"D:(Q;;FA;;;BA)", `unknown ACE type "Q" at offset 3`},
		{"D:(;;FA;;;BA)", `unknown ACE type "" at offset 3`},
		{"D:(a;;FA;;;BA)", `unknown ACE type "a"`},
		{"D:(XA;;FA;;;WD;(Member_of {SID(BA)}))", `ACE type "XA": callback (conditional) ACEs are not supported at offset 3`},
		{"S:(RA;;;;;WD;(\"Secrecy\",TU,0,3))", `resource attribute ACEs are not supported`},
		{"S:(SP;;;;;S-1-17-1)", `scoped policy ACEs are not supported`},
		{"D:(A;;FA;;BA)", `ACE has 5 fields, want 6`},
		{"D:(A;;FA;;;BA;x)", `ACE has 7 fields, want 6`},
		{"D:(A)", `ACE has 1 fields`},
		{"D:(A;XX;FA;;;BA)", `unknown ACE flag "XX" at offset 5`},
		{"D:(A;OIC;FA;;;BA)", `unknown ACE flag "C" at offset 7`},
		{"D:(A;oi;FA;;;BA)", `unknown ACE flag "oi"`},
		{"D:(A;;ZZ;;;BA)", `unknown access right "ZZ" at offset 6`},
		{"D:(A;;fa;;;BA)", `unknown access right "fa"`},
		{"D:(A;;FAG;;;BA)", `unknown access right "G" at offset 8`},
		{"D:(A;;0x;;;BA)", `access mask "0x" has no hex digits at offset 6`},
		{"D:(A;;0x100000000;;;BA)", `access mask "0x100000000" does not fit in 32 bits`},
		{"D:(A;;FA;bf967aba-0de6-11d0-a285-00aa003049e2;;BA)", `ACE type "A" cannot carry an object GUID (only OA, OD, OU and OL can) at offset 9`},
		{"D:(OA;;FA;not-a-guid;;BA)", `malformed GUID "not-a-guid"`},
		{"D:(OA;;FA;;bf967aba_0de6-11d0-a285-00aa003049e2;BA)", `malformed GUID`},
		{"D:(OA;;FA;;bf967aba-0de6-11d0-a285-00aa003049eg;BA)", `malformed GUID`},
		{"D:(A;;FA;;;)", `ACE has an empty SID field at offset 11`},
		{"D:(A;;FA;;;BA x)", `unexpected " x" after ACE SID at offset 13`},
		{"D:(A;;FA;;;S-1-5-18x)", `unexpected "x" after ACE SID`},
		{"D:Q(A;;FA;;;BA)", `unknown ACL flag "Q(A;;FA;" (want P, AI, AR, NO_ACCESS_CONTROL or an ACE in parentheses) at offset 2`},
		{"D:NO_ACCESS", `unknown ACL flag`},
		{"D:NO_ACCESS_CONTROL(A;;FA;;;BA)", `a NO_ACCESS_CONTROL ACL cannot contain ACEs at offset 19`},
		{"D:(A;;FA;;;BA)P", `unexpected "P", expected a component`},
		{"D:(A;;FA;;;BA)(A;;FA;;;BA))", `unexpected ")", expected a component`},
		{strings.Repeat(" ", maxSDDLLen+1), `input is 1048577 bytes, longer than the 1048576 byte limit`},
		{"D:" + strings.Repeat("(A;;;;;WD)", 3277), `ACL is larger than 65535 bytes after 3277 ACEs at offset 2`},
	}
	for _, tt := range tests {
		name := tt.in
		if len(name) > 60 {
			name = name[:60]
		}
		t.Run(name, func(t *testing.T) {
			sd, err := Compile(tt.in)
			if err == nil {
				t.Fatalf("Compile(%q) = %x, want an error", tt.in, sd)
			}
			if sd != nil {
				t.Errorf("Compile returned %x together with an error", sd)
			}
			checkError(t, err)
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Compile(%q) error = %q, want it to contain %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestCompileErrorText(t *testing.T) {
	_, err := Compile("O:XX")
	const want = `sddl: unknown SID alias "XX" at offset 2: invalid security descriptor`
	if err == nil || err.Error() != want {
		t.Fatalf("Compile(%q) error = %v, want %q", "O:XX", err, want)
	}
}

// checkError verifies the conventions every error follows.
func checkError(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("error %q does not wrap ErrInvalid", err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "sddl: ") {
		t.Errorf("error %q does not start with \"sddl: \"", msg)
	}
	if rest := strings.TrimPrefix(msg, "sddl: "); rest != "" && rest[0] >= 'A' && rest[0] <= 'Z' && !strings.HasPrefix(rest, "ACE") && !strings.HasPrefix(rest, "ACL") && !strings.HasPrefix(rest, "SID") {
		t.Errorf("error %q starts with a capital letter", msg)
	}
}

func TestCompileACLSizeLimit(t *testing.T) {
	// 3276 ACEs of 20 bytes make an ACL of 65528 bytes, just under the
	// limit; one more ACE is rejected (see TestCompileErrors).
	s := "D:" + strings.Repeat("(A;;;;;WD)", 3276)
	sd, err := Compile(s)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	acl := sd[sdHeaderLen:]
	if size, count := binary.LittleEndian.Uint16(acl[2:]), binary.LittleEndian.Uint16(acl[4:]); size != 65528 || count != 3276 {
		t.Fatalf("ACL size %d, count %d; want 65528, 3276", size, count)
	}
}

// validSD is the golden vector: owner at 0x14, group at 0x24, DACL at 0x30
// with one ACE at 0x38 whose SID starts at 0x40.
func validSD(t testing.TB) []byte { return mustBase64(t, goldenBase64) }

func TestFormatErrors(t *testing.T) {
	put16 := func(b []byte, off int, v uint16) []byte { binary.LittleEndian.PutUint16(b[off:], v); return b }
	put32 := func(b []byte, off int, v uint32) []byte { binary.LittleEndian.PutUint32(b[off:], v); return b }
	set := func(b []byte, off int, v byte) []byte { b[off] = v; return b }

	tests := []struct {
		name string
		sd   []byte
		want string
	}{
		{"nil", nil, "descriptor is 0 bytes, shorter than the 20 byte header"},
		{"RAW", []byte("RAW"), "descriptor is 3 bytes, shorter than the 20 byte header"},
		{"19 bytes", validSD(t)[:19], "shorter than the 20 byte header"},
		{"revision", set(validSD(t), 0, 2), "unsupported descriptor revision 2"},
		{"absolute", put16(validSD(t), 2, 0x0004), "descriptor is not self-relative (control 0x0004)"},
		{"owner offset huge", put32(validSD(t), 4, 0xffffffff), "owner SID at offset 4294967295: out of bounds of the 80 byte buffer"},
		{"owner offset near end", put32(validSD(t), 4, 76), "owner SID at offset 76: out of bounds"},
		{"owner SID revision", set(validSD(t), 0x14, 2), "owner SID at offset 20: unsupported SID revision 2"},
		{"owner SID 16 sub-authorities", set(validSD(t), 0x15, 16), "16 sub-authorities, more than 15"},
		{"group SID truncated", set(validSD(t), 0x25, 15), "group SID at offset 36: 15 sub-authorities run past the end of the 80 byte buffer"},
		{"dacl offset huge", put32(validSD(t), 16, 0xfffffff8), "dacl at offset 4294967288 is out of bounds"},
		{"sacl offset out of bounds", put32(put16(validSD(t), 2, 0x8014), 12, 80), "sacl at offset 80 is out of bounds of the 80 byte descriptor"},
		{"acl revision 1", set(validSD(t), 0x30, 1), "dacl has unsupported revision 1"},
		{"acl revision 5", set(validSD(t), 0x30, 5), "dacl has unsupported revision 5"},
		{"acl size too small", put16(validSD(t), 0x32, 7), "dacl size 7 is smaller than the ACL header"},
		{"acl size too large", put16(validSD(t), 0x32, 33), "dacl of 33 bytes at offset 48 runs past the end of the 80 byte descriptor"},
		{"ace count too large", put16(validSD(t), 0x34, 2), "dacl ACE 1 starts past the end of the 32 byte ACL"},
		{"ace size zero", put16(validSD(t), 0x3a, 0), "dacl ACE 0: ACE size 0 is too small"},
		{"ace size too large", put16(validSD(t), 0x3a, 25), "dacl ACE 0 of 25 bytes runs past the end of the 32 byte ACL"},
		{"ace SID cut short", put16(put16(validSD(t), 0x3a, 12), 0x32, 20), "dacl ACE 0: SID: out of bounds of the 12 byte buffer"},
		{"ace SID sub-authorities cut short", set(validSD(t), 0x41, 3), "dacl ACE 0: SID: 3 sub-authorities run past the end of the 24 byte buffer"},
		{"callback ace", set(validSD(t), 0x38, 0x09), "dacl ACE 0: unsupported ACE type 0x09"},
		{"compound ace", set(validSD(t), 0x38, 0x04), "unsupported ACE type 0x04"},
		{"ace flag 0x20", set(validSD(t), 0x39, 0x20), "ACE flags 0x20 include bits SDDL cannot express"},
		{"object ace too small", set(put16(put16(validSD(t), 0x3a, 8), 0x32, 16), 0x38, 0x05), "object ACE size 8 is too small"},
		{"object ace unknown flags", func() []byte {
			sd, _ := Compile("D:(OA;;;;;WD)")
			return put32(sd, 20+8+8, 4)
		}(), "unsupported object ACE flags 0x4"},
		{"object ace GUID cut short", func() []byte {
			sd, _ := Compile("D:(OA;;;;;WD)")
			return put32(sd, 20+8+8, 3)
		}(), "object GUID runs past the end of the 24 byte ACE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Format(tt.sd)
			if err == nil {
				t.Fatalf("Format(%x) = %q, want an error", tt.sd, got)
			}
			checkError(t, err)
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Format error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestFormatLargest builds the descriptor with the longest possible SDDL
// form and checks that Compile still accepts it, which is what the 1 MiB
// input limit is sized for.
func TestFormatLargest(t *testing.T) {
	// 16-byte ACEs (no sub-authorities) with every flag, every named right
	// and a 48-bit authority that prints in hex.
	ace := unhex(t, "02df1000 ff010ff0 0100ffff ffffffff")
	const perACL = (maxACLSize - aclHeaderLen) / 16
	acl := make([]byte, aclHeaderLen, maxACLSize)
	acl[0] = aclRevision
	for i := 0; i < perACL; i++ {
		acl = append(acl, ace...)
	}
	binary.LittleEndian.PutUint16(acl[2:], uint16(len(acl)))
	binary.LittleEndian.PutUint16(acl[4:], perACL)

	// DACL first, then SACL: the order Compile uses for "D:...S:...".
	sd := unhex(t, "01001480 00000000 00000000 00000000 14000000")
	binary.LittleEndian.PutUint32(sd[12:], uint32(sdHeaderLen+len(acl)))
	sd = append(sd, acl...)
	sd = append(sd, acl...)

	s, err := Format(sd)
	if err != nil {
		t.Fatalf("Format: %v", err)
	}
	const entry = "(AU;OICINPIOIDSAFA;CCDCLCSWRPWPDTLOCRSDRCWDWOGAGXGWGR;;;S-1-0xFFFFFFFFFFFF)"
	if !strings.HasPrefix(s, "D:"+entry) || strings.Count(s, entry) != 2*perACL {
		t.Fatalf("Format produced an unexpected string starting %q", s[:min(len(s), 200)])
	}
	if len(s) > maxSDDLLen {
		t.Fatalf("Format produced %d bytes, more than Compile accepts (%d)", len(s), maxSDDLLen)
	}
	t.Logf("longest SDDL is %d bytes", len(s))
	sd2, err := Compile(s)
	if err != nil {
		t.Fatalf("Compile(Format(sd)): %v", err)
	}
	if !bytes.Equal(sd2, sd) {
		t.Fatalf("Compile(Format(sd)) differs from sd")
	}
}
