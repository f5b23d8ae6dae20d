package backupstream

import "fmt"

// StreamID identifies the kind of a backup stream record (WIN32_STREAM_ID.dwStreamId).
type StreamID uint32

// Stream ids defined by the Win32 backup API.
const (
	StreamData          StreamID = 1  // BACKUP_DATA: the file's unnamed data stream
	StreamEAData        StreamID = 2  // BACKUP_EA_DATA: FILE_FULL_EA_INFORMATION list
	StreamSecurity      StreamID = 3  // BACKUP_SECURITY_DATA: self-relative security descriptor
	StreamAlternateData StreamID = 4  // BACKUP_ALTERNATE_DATA: a named data stream (ADS)
	StreamLink          StreamID = 5  // BACKUP_LINK: hard link information
	StreamPropertyData  StreamID = 6  // BACKUP_PROPERTY_DATA
	StreamObjectID      StreamID = 7  // BACKUP_OBJECT_ID
	StreamReparseData   StreamID = 8  // BACKUP_REPARSE_DATA: reparse point buffer
	StreamSparseBlock   StreamID = 9  // BACKUP_SPARSE_BLOCK: one allocated range of a sparse file
	StreamTxfsData      StreamID = 10 // BACKUP_TXFS_DATA
)

var streamNames = [...]string{
	StreamData:          "BackupData",
	StreamEAData:        "BackupEaData",
	StreamSecurity:      "BackupSecurity",
	StreamAlternateData: "BackupAlternateData",
	StreamLink:          "BackupLink",
	StreamPropertyData:  "BackupPropertyData",
	StreamObjectID:      "BackupObjectId",
	StreamReparseData:   "BackupReparseData",
	StreamSparseBlock:   "BackupSparseBlock",
	StreamTxfsData:      "BackupTxfsData",
}

// String returns go-winio's constant name for a known id ("BackupData"),
// or "StreamID(<n>)" for an unknown one.
func (id StreamID) String() string {
	// Compare as StreamID: int(id) is negative for ids >= 2^31 on 32-bit
	// platforms and would pass a bounds check it should fail.
	if id < StreamID(len(streamNames)) && streamNames[id] != "" {
		return streamNames[id]
	}
	return fmt.Sprintf("StreamID(%d)", uint32(id))
}

// Known reports whether id is one of the ten ids of the Win32 backup API.
func (id StreamID) Known() bool { return id >= StreamData && id <= StreamTxfsData }

// Stream attribute bits (WIN32_STREAM_ID.dwStreamAttributes).
const (
	AttrModifiedWhenRead   uint32 = 1
	AttrContainsSecurity   uint32 = 2
	AttrContainsProperties uint32 = 4
	AttrSparse             uint32 = 8
)

// Sizes and limits of the on-disk layout.
const (
	// HeaderSize is the fixed part of a WIN32_STREAM_ID record: id,
	// attributes, size and name size.
	HeaderSize = 20
	// SparseOffsetSize is the int64 file offset that starts a sparse
	// block's payload and is counted in its on-disk size.
	SparseOffsetSize = 8
	// MaxNameBytes bounds a stream name (UTF-16 bytes). NTFS limits names
	// to 255 characters; paths stay under 32767 characters.
	MaxNameBytes = 65536
)

// Header describes one record of a backup stream.
type Header struct {
	// ID is the kind of the stream.
	ID StreamID
	// Attributes holds the stream attribute bits (AttrSparse, ...).
	Attributes uint32
	// Size is the payload size in bytes. For a sparse block it excludes
	// the 8-byte offset, which is exposed as Offset.
	Size int64
	// Name is the stream name (alternate data streams: ":name:$DATA").
	Name string
	// Offset is the file offset of a sparse block (StreamSparseBlock only).
	Offset int64
}
