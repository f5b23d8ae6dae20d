package backupstream

import (
	"errors"
	"fmt"
)

// Sentinel errors. Their texts match go-winio where go-winio has the same
// error, so messages compared against the golden vectors stay identical.
var (
	// ErrInvalidEABuffer reports a FILE_FULL_EA_INFORMATION list whose
	// lengths or offsets point outside the buffer.
	ErrInvalidEABuffer = errors.New("invalid extended attribute buffer")
	// ErrEANameTooLarge reports an EA name longer than 255 bytes.
	ErrEANameTooLarge = errors.New("extended attribute name too large")
	// ErrEAValueTooLarge reports an EA value longer than 65535 bytes.
	ErrEAValueTooLarge = errors.New("extended attribute value too large")
	// ErrTruncatedReparse reports a reparse buffer too short for the fields
	// its header or name offsets promise (go-winio panics on such input).
	ErrTruncatedReparse = errors.New("truncated reparse buffer")
	// ErrLxSymlinkTooShort reports an LX symlink reparse buffer without its
	// 4-byte version field.
	ErrLxSymlinkTooShort = errors.New("LX symlink buffer too short")
	// ErrCorrupt reports a structurally invalid backup stream header: an odd
	// name size, a size beyond int64, or a sparse block shorter than its
	// 8-byte offset.
	ErrCorrupt = errors.New("corrupt backup stream")
	// ErrTooLarge reports a header field beyond the limits this package
	// accepts (a stream name over [MaxNameBytes]).
	ErrTooLarge = errors.New("backup stream field too large")
	// ErrWriteTooLong reports a Write past the size announced by the
	// current header.
	ErrWriteTooLong = errors.New("write past the end of the backup stream")
	// ErrMissingBytes reports a WriteHeader (or Close) before the previous
	// stream's payload was written in full.
	ErrMissingBytes = errors.New("backup stream payload incomplete")
)

// UnsupportedReparsePointError is returned by [DecodeReparsePoint] for a
// reparse tag other than symlink, mount point or LX symlink.
type UnsupportedReparsePointError struct {
	// Tag is the reparse tag found in the buffer.
	Tag uint32
}

// Error returns go-winio's text: "unsupported reparse point" and the tag in
// lower-case hexadecimal without a 0x prefix.
func (e *UnsupportedReparsePointError) Error() string {
	return fmt.Sprintf("unsupported reparse point %x", e.Tag)
}
