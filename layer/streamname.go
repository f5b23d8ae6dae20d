package layer

import (
	"fmt"
	"unicode/utf8"
)

// checkStreamName refuses an alternate data stream name (as decoded from
// the backup stream, WTF-8) that the store cannot keep exactly: one with
// an unpaired surrogate, which is not UTF-8 and so does not survive the
// layer index (JSON strings are UTF-8) — the export could not find the
// stream again. Every other name decodes to valid UTF-8 and is kept as
// is.
func checkStreamName(sn string) error {
	if utf8.ValidString(sn) {
		return nil
	}
	for i, r := range sn {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(sn[i:]); size == 1 {
				return fmt.Errorf("unpaired UTF-16 surrogate at byte %d: the store keeps names as UTF-8", i)
			}
		}
	}
	return fmt.Errorf("not valid UTF-8: the store keeps names as UTF-8")
}
