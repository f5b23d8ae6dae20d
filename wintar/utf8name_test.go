package wintar_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/winlayer/winlayer/wintar"
)

// TestValidateNameUTF8 checks that ValidateName keeps every UTF-8 name
// (which UTF-16 holds exactly) and refuses the others with
// ErrNameNotUTF8, giving the first bad byte.
func TestValidateNameUTF8(t *testing.T) {
	for _, tc := range []struct {
		name string
		want string // "" when accepted
	}{
		{"Files/é/日本語:😀", ""},
		{"Files/\uFFFD", ""},
		{"Files/\U0010FFFF", ""},
		{"Files/\xff", "byte 0xff at offset 6"},
		{"Files/a.txt:\xff", "byte 0xff at offset 12"},
		{"Files/\xc3", "byte 0xc3 at offset 6"},
		{"Files/\xc0\xaf", "byte 0xc0 at offset 6"}, // overlong '/'
		{"Files/\xed\xa0\x80", "byte 0xed at offset 6 (an unpaired UTF-16 surrogate in WTF-8)"},
		{"Files/\xed\xbf\xbfx", "(an unpaired UTF-16 surrogate in WTF-8)"},
		{"Files/\xed\xa0\x80\xed\xb0\x80", "(a UTF-16 surrogate pair in CESU-8)"},
		{"Files/\xed\xb0\x80\xed\xa0\x80", "(an unpaired UTF-16 surrogate in WTF-8)"},
		{"Files/\xf4\x90\x80\x80", "byte 0xf4 at offset 6"}, // beyond U+10FFFF
	} {
		err := wintar.ValidateName(tc.name, false)
		if tc.want == "" {
			if err != nil {
				t.Errorf("ValidateName(%q) = %v, want nil", tc.name, err)
			}
			continue
		}
		if !errors.Is(err, wintar.ErrNameNotUTF8) || !errors.Is(err, wintar.ErrUnsafeName) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ValidateName(%q) = %v, want ErrNameNotUTF8 with %q", tc.name, err, tc.want)
		}
	}
}
