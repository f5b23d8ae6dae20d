package backupstream

import (
	"encoding/binary"
	"unicode/utf16"
	"unicode/utf8"
)

// DecodeName decodes a stream name given as UTF-16LE bytes (a header's
// name field) as [Reader] does; see [AppendDecodedName].
func DecodeName(b []byte) string { return string(AppendDecodedName(nil, b)) }

// AppendDecodedName appends to dst the stream name b (UTF-16LE bytes)
// decoded exactly as go-winio does with windows.UTF16ToString
// (syscall.UTF16ToString): up to the first NUL unit, surrogate pairs
// combined, and each unpaired surrogate written as its three-byte WTF-8
// form, so that no unit is lost and [Writer] writes the name back
// unchanged. A trailing odd byte is ignored.
//
// The result is valid UTF-8 exactly when b holds no unpaired surrogate.
func AppendDecodedName(dst, b []byte) []byte {
	for i := 0; i+1 < len(b); i += 2 {
		u := rune(binary.LittleEndian.Uint16(b[i:]))
		switch {
		case u == 0:
			return dst
		case !utf16.IsSurrogate(u):
			dst = utf8.AppendRune(dst, u)
			continue
		case u < surrLow && i+3 < len(b):
			if u2 := rune(binary.LittleEndian.Uint16(b[i+2:])); u2 >= surrLow && u2 < surrEnd {
				dst = utf8.AppendRune(dst, utf16.DecodeRune(u, u2))
				i += 2
				continue
			}
		}
		dst = append(dst, 0xe0|byte(u>>12), 0x80|byte(u>>6)&0x3f, 0x80|byte(u)&0x3f)
	}
	return dst
}
