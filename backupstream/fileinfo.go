package backupstream

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// Filetime is a Windows FILETIME: 100-nanosecond intervals since
// 1601-01-01 UTC, as an unsigned 64-bit number (low word first on disk).
type Filetime uint64

// epochDelta is the Unix epoch as a FILETIME.
const epochDelta = 116444736000000000

// NsecToFiletime converts nanoseconds since the Unix epoch to a FILETIME
// exactly as golang.org/x/sys/windows does: divide by 100 truncating toward
// zero, add the epoch delta, keep the two's-complement bits.
func NsecToFiletime(nsec int64) Filetime {
	return Filetime(uint64(nsec/100 + epochDelta))
}

// FiletimeFromTime converts t with t.UnixNano(), which wraps for times
// outside 1678–2262; go-winio does the same, and layer tars rely on it (a
// missing time becomes FILETIME 48491090211286549).
func FiletimeFromTime(t time.Time) Filetime { return NsecToFiletime(t.UnixNano()) }

// Nanoseconds returns the time as nanoseconds since the Unix epoch, with
// golang.org/x/sys/windows' wrapping int64 arithmetic (FILETIME 0 gives
// 6802270473709551616 ns, i.e. 2185-07-21).
func (ft Filetime) Nanoseconds() int64 {
	return (int64(ft) - epochDelta) * 100
}

// Time returns time.Unix(0, ft.Nanoseconds()) in UTC.
func (ft Filetime) Time() time.Time { return time.Unix(0, ft.Nanoseconds()).UTC() }

// File attribute bits (FILE_ATTRIBUTE_*).
const (
	AttrReadOnly           uint32 = 0x1
	AttrHidden             uint32 = 0x2
	AttrSystem             uint32 = 0x4
	AttrDirectory          uint32 = 0x10
	AttrArchive            uint32 = 0x20
	AttrDevice             uint32 = 0x40
	AttrNormal             uint32 = 0x80
	AttrTemporary          uint32 = 0x100
	AttrSparseFile         uint32 = 0x200
	AttrReparsePoint       uint32 = 0x400
	AttrCompressed         uint32 = 0x800
	AttrOffline            uint32 = 0x1000
	AttrNotContentIndexed  uint32 = 0x2000
	AttrEncrypted          uint32 = 0x4000
	AttrIntegrityStream    uint32 = 0x8000
	AttrVirtual            uint32 = 0x10000
	AttrNoScrubData        uint32 = 0x20000
	AttrRecallOnOpen       uint32 = 0x40000
	AttrPinned             uint32 = 0x80000
	AttrUnpinned           uint32 = 0x100000
	AttrRecallOnDataAccess uint32 = 0x400000
)

var attrNames = []struct {
	bit  uint32
	name string
}{
	{AttrReadOnly, "READONLY"}, {AttrHidden, "HIDDEN"}, {AttrSystem, "SYSTEM"},
	{AttrDirectory, "DIRECTORY"}, {AttrArchive, "ARCHIVE"}, {AttrDevice, "DEVICE"},
	{AttrNormal, "NORMAL"}, {AttrTemporary, "TEMPORARY"}, {AttrSparseFile, "SPARSE_FILE"},
	{AttrReparsePoint, "REPARSE_POINT"}, {AttrCompressed, "COMPRESSED"}, {AttrOffline, "OFFLINE"},
	{AttrNotContentIndexed, "NOT_CONTENT_INDEXED"}, {AttrEncrypted, "ENCRYPTED"},
	{AttrIntegrityStream, "INTEGRITY_STREAM"}, {AttrVirtual, "VIRTUAL"},
	{AttrNoScrubData, "NO_SCRUB_DATA"}, {AttrRecallOnOpen, "RECALL_ON_OPEN"},
	{AttrPinned, "PINNED"}, {AttrUnpinned, "UNPINNED"}, {AttrRecallOnDataAccess, "RECALL_ON_DATA_ACCESS"},
}

// AttributeNames returns the FILE_ATTRIBUTE_ names of the bits set in a
// (without the prefix), low bit first; unknown bits appear as hex.
func AttributeNames(a uint32) []string {
	names := []string{}
	for _, n := range attrNames {
		if a&n.bit != 0 {
			names = append(names, n.name)
			a &^= n.bit
		}
	}
	if a != 0 {
		names = append(names, fmt.Sprintf("0x%x", a))
	}
	return names
}

// FileBasicInfoSize is the size of FILE_BASIC_INFO as go-winio lays it out:
// four FILETIMEs, the attributes and 4 bytes of padding.
const FileBasicInfoSize = 40

// FileBasicInfo holds a file's four times and attributes (FILE_BASIC_INFO).
type FileBasicInfo struct {
	CreationTime   Filetime
	LastAccessTime Filetime
	LastWriteTime  Filetime
	ChangeTime     Filetime
	FileAttributes uint32
}

// IsDir reports whether the directory attribute is set.
func (fi *FileBasicInfo) IsDir() bool { return fi.FileAttributes&AttrDirectory != 0 }

// MarshalBinary encodes fi in the 40-byte FILE_BASIC_INFO layout.
func (fi *FileBasicInfo) MarshalBinary() ([]byte, error) {
	b := make([]byte, FileBasicInfoSize)
	binary.LittleEndian.PutUint64(b[0:], uint64(fi.CreationTime))
	binary.LittleEndian.PutUint64(b[8:], uint64(fi.LastAccessTime))
	binary.LittleEndian.PutUint64(b[16:], uint64(fi.LastWriteTime))
	binary.LittleEndian.PutUint64(b[24:], uint64(fi.ChangeTime))
	binary.LittleEndian.PutUint32(b[32:], fi.FileAttributes)
	return b, nil
}

// UnmarshalBinary decodes the 40-byte FILE_BASIC_INFO layout; it fails
// with [ErrCorrupt] for any other length.
func (fi *FileBasicInfo) UnmarshalBinary(b []byte) error {
	if len(b) != FileBasicInfoSize {
		return fmt.Errorf("file basic info: %d bytes, want %d: %w", len(b), FileBasicInfoSize, ErrCorrupt)
	}
	fi.CreationTime = Filetime(binary.LittleEndian.Uint64(b[0:]))
	fi.LastAccessTime = Filetime(binary.LittleEndian.Uint64(b[8:]))
	fi.LastWriteTime = Filetime(binary.LittleEndian.Uint64(b[16:]))
	fi.ChangeTime = Filetime(binary.LittleEndian.Uint64(b[24:]))
	fi.FileAttributes = binary.LittleEndian.Uint32(b[32:])
	return nil
}

// String formats fi for diagnostics.
func (fi *FileBasicInfo) String() string {
	return fmt.Sprintf("attrs=%#x[%s] created=%s accessed=%s written=%s changed=%s",
		fi.FileAttributes, strings.Join(AttributeNames(fi.FileAttributes), "|"),
		fi.CreationTime.Time().Format(time.RFC3339Nano), fi.LastAccessTime.Time().Format(time.RFC3339Nano),
		fi.LastWriteTime.Time().Format(time.RFC3339Nano), fi.ChangeTime.Time().Format(time.RFC3339Nano))
}
