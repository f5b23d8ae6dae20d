package backupstream

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"unicode/utf16"
	"unicode/utf8"
)

// AppendHeader appends to dst the WIN32_STREAM_ID record of h: id,
// attributes, size (plus 8 for a sparse block, whose offset follows the
// name), the name as UTF-16LE without terminator. The name is encoded as
// go-winio does (invalid UTF-8 bytes become U+FFFD), except that the
// three-byte WTF-8 form of an unpaired surrogate, which [Reader] and
// [Decoder] return for one, is written back as that surrogate: every
// header they return re-encodes to the same bytes (up to a NUL unit in the
// name, where they stop).
//
// AppendHeader wraps [ErrCorrupt] for a negative size and [ErrTooLarge]
// for a name over [MaxNameBytes] or a sparse block whose size with its
// offset exceeds int64: records a Reader would refuse. dst is then
// returned unchanged.
func AppendHeader(dst []byte, h *Header) ([]byte, error) {
	if h.Size < 0 {
		return dst, fmt.Errorf("stream %s: negative size %d: %w", h.ID, h.Size, ErrCorrupt)
	}
	size := uint64(h.Size)
	sparse := h.ID == StreamSparseBlock
	if sparse {
		if h.Size > math.MaxInt64-SparseOffsetSize {
			return dst, fmt.Errorf("stream %s: size %d with its offset: %w", h.ID, h.Size, ErrTooLarge)
		}
		size += SparseOffsetSize
	}
	start := len(dst)
	// One allocation at most: a name takes at most two UTF-16 bytes per
	// UTF-8 byte.
	dst = slices.Grow(dst, HeaderSize+2*len(h.Name)+SparseOffsetSize)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(h.ID))
	dst = binary.LittleEndian.AppendUint32(dst, h.Attributes)
	dst = binary.LittleEndian.AppendUint64(dst, size)
	dst = binary.LittleEndian.AppendUint32(dst, 0) // name size, set below
	dst = appendNameLE(dst, h.Name)
	nameBytes := len(dst) - start - HeaderSize
	if nameBytes > MaxNameBytes {
		return dst[:start], fmt.Errorf("stream %s: name of %d bytes: %w", h.ID, nameBytes, ErrTooLarge)
	}
	binary.LittleEndian.PutUint32(dst[start+16:], uint32(nameBytes))
	if sparse {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(h.Offset))
	}
	return dst, nil
}

// appendNameLE appends the UTF-16LE bytes of name, rune by rune as
// utf16.Encode([]rune(name)) gives them, except that each WTF-8 surrogate
// (bytes ED A0..BF 80..BF, invalid UTF-8) becomes the one unpaired
// surrogate unit it stands for.
func appendNameLE(dst []byte, name string) []byte {
	for i := 0; i < len(name); {
		if u, ok := wtf8Surrogate(name[i:]); ok {
			dst = binary.LittleEndian.AppendUint16(dst, u)
			i += 3
			continue
		}
		c, size := utf8.DecodeRuneInString(name[i:])
		i += size
		if c < 0x10000 {
			// DecodeRuneInString never returns a surrogate code point.
			dst = binary.LittleEndian.AppendUint16(dst, uint16(c))
			continue
		}
		r1, r2 := utf16.EncodeRune(c)
		dst = binary.LittleEndian.AppendUint16(dst, uint16(r1))
		dst = binary.LittleEndian.AppendUint16(dst, uint16(r2))
	}
	return dst
}

// wtf8Surrogate reports whether s starts with the three-byte WTF-8 form of
// a surrogate (ED A0..BF 80..BF) and returns that unit.
func wtf8Surrogate(s string) (uint16, bool) {
	if len(s) < 3 || s[0] != 0xed || s[1] < 0xa0 || s[1] > 0xbf || s[2] < 0x80 || s[2] > 0xbf {
		return 0, false
	}
	return 0xd000 | uint16(s[1]&0x3f)<<6 | uint16(s[2]&0x3f), true
}
