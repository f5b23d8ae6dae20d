package wintar

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrNameNotUTF8 reports a tar name that is not valid UTF-8. A Windows
// name is UTF-16: go-winio turns each invalid byte into U+FFFD (so the
// file would come back under another name), and the three-byte form of an
// unpaired surrogate (WTF-8), which go-winio keeps, is not UTF-8 either,
// which the layer store's index needs. [ValidateName] wraps it together
// with [ErrUnsafeName].
var ErrNameNotUTF8 = errors.New("name is not valid UTF-8")

// checkUTF8 returns nil for a valid UTF-8 name, else an error wrapping
// [ErrNameNotUTF8] and [ErrUnsafeName] that gives the first bad byte and
// its offset, saying when it starts an unpaired surrogate.
func checkUTF8(name string) error {
	if utf8.ValidString(name) {
		return nil
	}
	for i := 0; i < len(name); {
		r, size := utf8.DecodeRuneInString(name[i:])
		if r != utf8.RuneError || size != 1 {
			i += size
			continue
		}
		what := ""
		if surrogateAt(name, i) {
			what = " (an unpaired UTF-16 surrogate in WTF-8)"
			if name[i+1] < 0xb0 && surrogateAt(name, i+3) && name[i+4] >= 0xb0 {
				what = " (a UTF-16 surrogate pair in CESU-8)"
			}
		}
		return fmt.Errorf("%w: byte %#x at offset %d%s: %w", ErrNameNotUTF8, name[i], i, what, ErrUnsafeName)
	}
	return fmt.Errorf("%w: %w", ErrNameNotUTF8, ErrUnsafeName)
}

// surrogateAt reports whether name holds the three-byte form of a UTF-16
// surrogate (ED A0..BF 80..BF) at offset i.
func surrogateAt(name string, i int) bool {
	return i+2 < len(name) && name[i] == 0xed && name[i+1] >= 0xa0 && name[i+1] <= 0xbf && name[i+2]&0xc0 == 0x80
}
