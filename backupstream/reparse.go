package backupstream

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf16"
)

// Reparse tags this package encodes and decodes.
const (
	ReparseTagMountPoint uint32 = 0xA0000003 // IO_REPARSE_TAG_MOUNT_POINT (junction)
	ReparseTagSymlink    uint32 = 0xA000000C // IO_REPARSE_TAG_SYMLINK
	ReparseTagLxSymlink  uint32 = 0xA000001D // IO_REPARSE_TAG_LX_SYMLINK (WSL)
)

// symlinkFlagRelative marks a symlink whose substitute name is relative.
const symlinkFlagRelative = 1

// lxSymlinkVersion is the version field EncodeReparsePoint writes for LX symlinks.
const lxSymlinkVersion = 2

// ReparsePoint is a decoded symlink, mount point (junction) or LX symlink.
type ReparsePoint struct {
	// Target is the link target: the print name for symlinks and mount
	// points (backslashes kept), the UTF-8 target for LX symlinks.
	Target string
	// IsMountPoint is true for a junction (IO_REPARSE_TAG_MOUNT_POINT).
	IsMountPoint bool
	// IsLxSymlink is true for a WSL symlink (IO_REPARSE_TAG_LX_SYMLINK).
	IsLxSymlink bool
}

// Tag returns the reparse tag EncodeReparsePoint writes for rp.
func (rp *ReparsePoint) Tag() uint32 {
	switch {
	case rp.IsLxSymlink:
		return ReparseTagLxSymlink
	case rp.IsMountPoint:
		return ReparseTagMountPoint
	default:
		return ReparseTagSymlink
	}
}

// ReparseTag returns the tag of a reparse buffer, or an error wrapping
// [ErrTruncatedReparse] when b is shorter than 4 bytes.
func ReparseTag(b []byte) (uint32, error) {
	if len(b) < 4 {
		return 0, fmt.Errorf("%w: %d bytes", ErrTruncatedReparse, len(b))
	}
	return binary.LittleEndian.Uint32(b), nil
}

// DecodeReparsePoint decodes a REPARSE_DATA_BUFFER (tag, data length,
// reserved, then tag-specific data; the data length field is ignored, as
// Windows tools do). It returns *[UnsupportedReparsePointError] for tags
// other than symlink, mount point and LX symlink, and an error wrapping
// [ErrTruncatedReparse] where go-winio would index out of bounds.
func DecodeReparsePoint(b []byte) (*ReparsePoint, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("%w: %d bytes, the header alone is 8", ErrTruncatedReparse, len(b))
	}
	return DecodeReparsePointData(binary.LittleEndian.Uint32(b), b[8:])
}

// DecodeReparsePointData decodes the tag-specific data of a reparse buffer
// (the bytes after its 8-byte header).
func DecodeReparsePointData(tag uint32, b []byte) (*ReparsePoint, error) {
	switch tag {
	case ReparseTagMountPoint:
		return decodeNameReparse(b, true)
	case ReparseTagSymlink:
		return decodeNameReparse(b, false)
	case ReparseTagLxSymlink:
		if len(b) < 4 {
			return nil, ErrLxSymlinkTooShort
		}
		t := b[4:]
		for i, c := range t {
			if c == 0 {
				t = t[:i]
				break
			}
		}
		return &ReparsePoint{Target: string(t), IsLxSymlink: true}, nil
	default:
		return nil, &UnsupportedReparsePointError{Tag: tag}
	}
}

// decodeNameReparse reads the print name of a symlink or mount point. The
// offsets are computed in uint16 arithmetic exactly as go-winio does, so any
// buffer go-winio decodes decodes to the same target here.
func decodeNameReparse(b []byte, mountPoint bool) (*ReparsePoint, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("%w: %d data bytes, need 8", ErrTruncatedReparse, len(b))
	}
	start := 8 + binary.LittleEndian.Uint16(b[4:6])
	if !mountPoint {
		start += 4
	}
	length := binary.LittleEndian.Uint16(b[6:8])
	end := start + length
	if end < start || int(end) > len(b) {
		return nil, fmt.Errorf("%w: print name [%d:%d] outside %d data bytes", ErrTruncatedReparse, start, end, len(b))
	}
	name := make([]uint16, length/2)
	for i := range name {
		name[i] = binary.LittleEndian.Uint16(b[int(start)+2*i:])
	}
	return &ReparsePoint{Target: string(utf16.Decode(name)), IsMountPoint: mountPoint}, nil
}

func isDriveLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// NTTarget returns the substitute (NT) name EncodeReparsePoint stores for a
// Windows target and whether the target is relative: `\\?\x` → `\??\x`,
// `\\server\share` → `\??\UNC\server\share`, `C:...` → `\??\C:...`, and
// anything else is stored as is and marked relative.
func NTTarget(target string) (nt string, relative bool) {
	switch {
	case strings.HasPrefix(target, `\\?\`):
		return `\??\` + target[4:], false
	case strings.HasPrefix(target, `\\`):
		return `\??\UNC\` + target[2:], false
	case len(target) >= 2 && isDriveLetter(target[0]) && target[1] == ':':
		return `\??\` + target, false
	default:
		return target, true
	}
}

// EncodeReparsePoint encodes rp as a REPARSE_DATA_BUFFER, byte for byte as
// go-winio does: substitute name then print name, each NUL-terminated in
// the path buffer; symlinks carry a flags word (1 = relative). Lengths are
// 16-bit fields; callers should refuse targets longer than
// [MaxReparseTargetUnits] first.
func EncodeReparsePoint(rp *ReparsePoint) []byte {
	if rp == nil {
		return nil
	}
	if rp.IsLxSymlink {
		t := []byte(rp.Target)
		b := make([]byte, 12+len(t))
		binary.LittleEndian.PutUint32(b[0:], ReparseTagLxSymlink)
		binary.LittleEndian.PutUint16(b[4:], uint16(4+len(t)))
		binary.LittleEndian.PutUint32(b[8:], lxSymlinkVersion)
		copy(b[12:], t)
		return b
	}
	nt, relative := NTTarget(rp.Target)
	print16 := utf16.Encode([]rune(rp.Target + "\x00"))
	nt16 := utf16.Encode([]rune(nt + "\x00"))
	dataLen := 8 + 2*len(nt16) + 2*len(print16)
	head := 16
	tag := ReparseTagMountPoint
	if !rp.IsMountPoint {
		tag = ReparseTagSymlink
		dataLen += 4
		head += 4
	}
	b := make([]byte, head+2*len(nt16)+2*len(print16))
	binary.LittleEndian.PutUint32(b[0:], tag)
	binary.LittleEndian.PutUint16(b[4:], uint16(dataLen))
	binary.LittleEndian.PutUint16(b[8:], 0)
	binary.LittleEndian.PutUint16(b[10:], uint16(2*(len(nt16)-1)))
	binary.LittleEndian.PutUint16(b[12:], uint16(2*len(nt16)))
	binary.LittleEndian.PutUint16(b[14:], uint16(2*(len(print16)-1)))
	if !rp.IsMountPoint && relative {
		binary.LittleEndian.PutUint32(b[16:], symlinkFlagRelative)
	}
	p := b[head:]
	for i, u := range nt16 {
		binary.LittleEndian.PutUint16(p[2*i:], u)
	}
	p = p[2*len(nt16):]
	for i, u := range print16 {
		binary.LittleEndian.PutUint16(p[2*i:], u)
	}
	return b
}

// MaxReparseTargetUnits is the longest target (in UTF-16 units) whose
// encoding fits the 16-bit length fields of a REPARSE_DATA_BUFFER with both
// names: longer targets wrap the lengths and cannot be stored faithfully.
const MaxReparseTargetUnits = 16000

// ReparseTargetFits reports whether target can be encoded without
// overflowing the buffer's 16-bit length fields.
func ReparseTargetFits(target string) bool {
	nt, _ := NTTarget(target)
	return len(utf16.Encode([]rune(nt)))+len(utf16.Encode([]rune(target))) <= 2*MaxReparseTargetUnits
}
