package sddl

import ("testing"; "encoding/base64")

func TestScratch(t *testing.T) {
	b, err := Compile("O:BAG:SYD:(A;;FA;;;BA)")
	t.Log(base64.StdEncoding.EncodeToString(b), err)
	for _, s := range []string{"", "this is not SDDL", "O:XX", "O:DA", "D:PAI(A;OICI;0x1200a9;;;BU)(OA;CI;RPWP;bf967aba-0de6-11d0-a285-00aa003049e2;;AU)S:ARNO_ACCESS_CONTROL", "O:S-1-0x123456789ABCD:(A;;;;;S-1-5)"} {
		b, err := Compile(s)
		f, ferr := Format(b)
		t.Logf("%q -> %x %v -> %q %v", s, b, err, f, ferr)
	}
}
