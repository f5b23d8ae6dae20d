package wintar

import (
	"errors"
	"strings"
	"testing"
)

// TestEqualFoldNTFS: the pairs that collide on NTFS and those that do not,
// where Go's case folding (strings.ToLower, strings.EqualFold) disagrees.
func TestEqualFoldNTFS(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"a", "A", true},
		{"hello.TXT", "HELLO.txt", true},
		{"σ", "ς", true}, // final sigma upper-cases to Σ too
		{"σ", "Σ", true},
		{"ς", "Σ", true},
		{"\u212a", "k", false}, // KELVIN SIGN is its own upper case
		{"\u212a", "K", false},
		{"k", "K", true},
		{"\u212b", "å", false}, // ANGSTROM SIGN likewise
		{"ß", "ẞ", false},      // ß has no simple upper case
		{"ß", "SS", false},     // no full case mapping
		{"ı", "I", false},      // dotless i keeps its code unit
		{"ſ", "s", false},      // long s too
		{"µ", "Μ", false},      // micro sign is not Greek mu
		{"ÿ", "Ÿ", true},
		{"é", "É", true},
		{"ж", "Ж", true},
		{"ǆ", "Ǆ", true},
		{"ⱥ", "Ⱥ", true},                    // the table maps both to U+2C65
		{"ǅ", "Ǆ", false},                   // the title-case form is its own
		{"\U00010428", "\U00010400", false}, // outside the BMP: no folding
		{"ａ", "Ａ", true},                    // fullwidth
		{"a\xff", "A\xff", true},            // invalid UTF-8 bytes kept
		{"a\xff", "A\xfe", false},
	} {
		if got := EqualFoldNTFS(tc.a, tc.b); got != tc.want {
			t.Errorf("EqualFoldNTFS(%q, %q) = %v, want %v (upcased %q, %q)", tc.a, tc.b, got, tc.want, UpcaseNTFS(tc.a), UpcaseNTFS(tc.b))
		}
	}
}

// TestUpcaseNTFSTable spot-checks the table against code units whose NTFS
// upper case is known, and that every entry maps within the BMP.
func TestUpcaseNTFSTable(t *testing.T) {
	for in, want := range map[rune]rune{
		'a': 'A', 'z': 'Z', 'A': 'A', '{': '{', 'à': 'À', '÷': '÷', 'ø': 'Ø',
		'ς': 'Σ', 'ά': 'Ά', 'ώ': 'Ώ', 'ā': 'Ā', 'Ā': 'Ā', 'ı': 'ı', 'ſ': 'ſ',
		'ɓ': 'Ɓ', 'ⓐ': 'Ⓐ', 'ⅰ': 'Ⅰ', 'ⴀ': 'Ⴀ', 'ɫ': 'Ɫ', 'ᵽ': 'Ᵽ',
		'ß': 'ß', 'ẞ': 'ẞ', '\u212a': '\u212a', 'µ': 'µ', 'ǅ': 'ǅ', 'ǆ': 'Ǆ',
	} {
		if got := []rune(UpcaseNTFS(string(in))); len(got) != 1 || got[0] != want {
			t.Errorf("UpcaseNTFS(%q) = %q, want %q", in, string(got), want)
		}
	}
	if got := UpcaseNTFS("Files/Ünïcode.txt"); got != "FILES/ÜNÏCODE.TXT" {
		t.Errorf("UpcaseNTFS = %q", got)
	}
}

// TestDeviceNames: what Windows opens as a device is refused, in any case,
// with an extension, trailing spaces, and the superscript digits; names
// that only look similar are accepted.
func TestDeviceNames(t *testing.T) {
	refused := []string{
		"CON", "con", "Con", "PRN", "AUX", "aux.txt", "NUL", "nul.tar.gz", "NUL ", "CON .txt",
		"COM1", "com9", "LPT1", "lpt9.log", "COM\u00b9", "COM\u00b2", "LPT\u00b3", "lpt\u00b9.txt",
		"CONIN$", "conout$", "aux:stream",
	}
	accepted := []string{
		"CONS", "CON_", "console", "xaux", "aux_", "COM0", "LPT0", "COM10", "LPT", "COM", "NULL",
		"COM\u2074", "auxtxt", ".aux", "conın$", "a.con", "aux\u00a0",
	}
	for _, n := range refused {
		name := "Files/d/" + n
		err := ValidateName(name, false)
		// "NUL " is refused for its trailing space already.
		if !errors.Is(err, ErrUnsafeName) || !strings.HasSuffix(n, " ") && !strings.Contains(err.Error(), "Windows device name") {
			t.Errorf("ValidateName(%q) = %v, want a device-name refusal", name, err)
		}
		// A directory component is a device too.
		if err := ValidateName("Files/"+strings.SplitN(n, ":", 2)[0]+"/x", false); !errors.Is(err, ErrUnsafeName) {
			t.Errorf("ValidateName(%q as a directory) = %v, want ErrUnsafeName", n, err)
		}
	}
	for _, n := range accepted {
		if err := ValidateName("Files/"+n, false); err != nil {
			t.Errorf("ValidateName(%q) = %v, want nil", "Files/"+n, err)
		}
	}
}

// TestOutsideRootsMessage: a name outside the layer roots says what the
// input looks like.
func TestOutsideRootsMessage(t *testing.T) {
	for name, want := range map[string]string{
		"etc/passwd": "entries outside Files/, Hives/, UtilityVM/: this looks like a Linux layer",
		"usr/":       "this looks like a Linux layer",
		"./bin/sh":   "this looks like a Linux layer",
		// 'tar -C DIR .' of an OCI layout starts with "./" too: it was
		// called a Linux layer.
		"./":                                   "this looks like a directory tarred whole (tar -C DIR .): a Linux layer, or an OCI image layout or docker-save archive",
		"./oci-layout":                         "OCI image layout",
		"./manifest.json":                      "docker-save archive",
		"manifest.json":                        "this looks like a docker-save archive (manifest.json + */layer.tar)",
		"repositories":                         "docker-save archive",
		strings.Repeat("a", 64) + "/layer.tar": "docker-save archive",
		"oci-layout":                           "this looks like an OCI image layout (oci-layout, index.json, blobs/)",
		"blobs/sha256/abc":                     "OCI image layout",
		"index.json":                           "OCI image layout",
		"Windows/System32":                     "entries outside Files/, Hives/, UtilityVM/ (a Windows layer holds nothing else)",
	} {
		err := ValidateName(name, strings.HasSuffix(name, "/"))
		if !errors.Is(err, ErrUnsafeName) || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateName(%q) = %v, want %q", name, err, want)
		}
	}
}
