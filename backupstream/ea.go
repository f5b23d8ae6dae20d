package backupstream

import (
	"encoding/binary"
	"fmt"
)

// EA is one extended attribute of a FILE_FULL_EA_INFORMATION list.
type EA struct {
	// Name is the EA name (at most 255 bytes; NTFS upper-cases it).
	Name string
	// Flags is the EA flags byte (FILE_NEED_EA is 0x80); layer tars cannot
	// carry it, so import always writes 0.
	Flags uint8
	// Value is the EA value (at most 65535 bytes).
	Value []byte
}

// eaHeaderSize is the fixed part of FILE_FULL_EA_INFORMATION:
// NextEntryOffset uint32, Flags uint8, EaNameLength uint8, EaValueLength uint16.
const eaHeaderSize = 8

// EncodedEASize returns the number of bytes [EncodeEAs] produces for eas.
func EncodedEASize(eas []EA) int {
	n := 0
	for _, ea := range eas {
		n += (eaHeaderSize + len(ea.Name) + 1 + len(ea.Value) + 3) &^ 3
	}
	return n
}

// EncodeEAs encodes eas, in the given order, as a FILE_FULL_EA_INFORMATION
// list: every entry is padded to 4 bytes (the last one too) and links to the
// next through NextEntryOffset, 0 on the last. It fails with
// [ErrEANameTooLarge] or [ErrEAValueTooLarge] past the format's limits.
func EncodeEAs(eas []EA) ([]byte, error) {
	for _, ea := range eas {
		if len(ea.Name) > 255 {
			return nil, ErrEANameTooLarge
		}
		if len(ea.Value) > 65535 {
			return nil, ErrEAValueTooLarge
		}
	}
	b := make([]byte, EncodedEASize(eas))
	off := 0
	for i, ea := range eas {
		entry := eaHeaderSize + len(ea.Name) + 1 + len(ea.Value)
		padded := (entry + 3) &^ 3
		next := uint32(0)
		if i != len(eas)-1 {
			next = uint32(padded)
		}
		e := b[off : off+padded]
		binary.LittleEndian.PutUint32(e[0:], next)
		e[4] = ea.Flags
		e[5] = uint8(len(ea.Name))
		binary.LittleEndian.PutUint16(e[6:], uint16(len(ea.Value)))
		copy(e[eaHeaderSize:], ea.Name)
		copy(e[eaHeaderSize+len(ea.Name)+1:], ea.Value)
		off += padded
	}
	return b, nil
}

// DecodeEAs decodes a FILE_FULL_EA_INFORMATION list, following
// NextEntryOffset until it is 0 (trailing bytes after the last entry are
// ignored) or the buffer is consumed. It returns [ErrInvalidEABuffer] when
// an entry's lengths or its NextEntryOffset point outside the buffer. The
// returned values alias b.
func DecodeEAs(b []byte) ([]EA, error) {
	var eas []EA
	for len(b) != 0 {
		if len(b) < eaHeaderSize {
			return nil, ErrInvalidEABuffer
		}
		next := binary.LittleEndian.Uint32(b[0:])
		nameLen := int(b[5])
		valueLen := int(binary.LittleEndian.Uint16(b[6:]))
		valueOff := eaHeaderSize + nameLen + 1
		if valueOff+valueLen > len(b) || uint64(next) > uint64(len(b)) {
			return nil, ErrInvalidEABuffer
		}
		eas = append(eas, EA{
			Name:  string(b[eaHeaderSize : eaHeaderSize+nameLen]),
			Flags: b[4],
			Value: b[valueOff : valueOff+valueLen : valueOff+valueLen],
		})
		if next == 0 {
			break
		}
		b = b[next:]
	}
	return eas, nil
}

// String formats an EA for diagnostics.
func (ea EA) String() string {
	return fmt.Sprintf("%s (flags %#x, %d bytes)", ea.Name, ea.Flags, len(ea.Value))
}
