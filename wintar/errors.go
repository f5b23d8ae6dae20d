package wintar

import (
	"errors"
	"fmt"
)

// EntryError is the error [Import] returns: what failed (Op), for which
// tar entry (Name, and Index, its position counting every tar header from
// 0), and why (Err, with go-winio's text where go-winio has one).
type EntryError struct {
	// Op names the step: "FileInfoFromHeader", "WriteBackupStreamFromTarFile",
	// "Add", "AddLink", "Remove" or "read".
	Op string
	// Name is the tar name of the entry ("" when the tar could not be read).
	Name string
	// Index is the entry's position in the tar, counting from 0.
	Index int
	// Err is the underlying error.
	Err error
}

// Error formats the error as `entry <n> "<name>": <op>: <err>`.
func (e *EntryError) Error() string {
	if e.Name == "" {
		return fmt.Sprintf("entry %d: %s: %v", e.Index, e.Op, e.Err)
	}
	return fmt.Sprintf("entry %d %q: %s: %v", e.Index, e.Name, e.Op, e.Err)
}

// Unwrap returns Err.
func (e *EntryError) Unwrap() error { return e.Err }

// ErrTooLarge reports a metadata stream (security descriptor, EAs, reparse
// buffer) larger than [MaxMetadataSize].
var ErrTooLarge = errors.New("metadata stream too large")

// ErrReparseTargetTooLong reports a symlink target too long for the 16-bit
// length fields of a reparse buffer.
var ErrReparseTargetTooLong = errors.New("symlink target too long for a reparse point")
