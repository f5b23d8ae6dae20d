package wintar

import (
	"errors"
	"fmt"
)

// Steps of the import loop, the values of [EntryError.Op]. They are the
// names go-winio and hcsshim give these steps (the record dumps keep them);
// [EntryError.Error] does not print them.
const (
	OpRead     = "read"                         // reading the next tar header
	OpValidate = "validate"                     // the store's checks (WithStrictNames)
	OpFileInfo = "FileInfoFromHeader"           // times and attributes from the header
	OpStream   = "WriteBackupStreamFromTarFile" // the backup stream of the entry
	OpAdd      = "Add"                          // LayerWriter.Add
	OpAddLink  = "AddLink"                      // LayerWriter.AddLink
	OpRemove   = "Remove"                       // LayerWriter.Remove
)

// EntryError is the error [Import] returns: what failed (Op), for which
// tar entry (Name, and Index, its position counting every tar header from
// 0), and why (Err).
type EntryError struct {
	// Op names the step, one of the Op constants.
	Op string
	// Name is the tar name of the entry ("" when its header could not be
	// read).
	Name string
	// Index is the entry's position in the tar, counting from 0.
	Index int
	// After is, for a header that could not be read (Op OpRead, or
	// OpStream while looking for the entry's alternate data streams), the
	// tar name of the entry before it; "" for the first header.
	After string
	// Err is the underlying error.
	Err error
}

// Error formats the error for a user: `entry <n> "<name>": <err>`, or for
// a header that could not be read `entry <n> (after "<prev>"): reading
// the tar header: <err>`.
func (e *EntryError) Error() string {
	switch {
	case e.Name != "":
		return fmt.Sprintf("entry %d %q: %v", e.Index, e.Name, e.Err)
	case e.After != "":
		return fmt.Sprintf("entry %d (after %q): reading the tar header: %v", e.Index, e.After, e.Err)
	default:
		return fmt.Sprintf("entry %d: reading the tar header: %v", e.Index, e.Err)
	}
}

// Unwrap returns Err.
func (e *EntryError) Unwrap() error { return e.Err }

// GoWinioText is the error as go-winio's import loop words it: the step,
// then the underlying error in go-winio's text ("FileInfoFromHeader:
// strconv.ParseUint: parsing \"0x20\": invalid syntax"). It is what the
// record dumps compare against go-winio's; users see [EntryError.Error].
func (e *EntryError) GoWinioText() string {
	return e.Op + ": " + goWinioText(e.Err)
}

// goWinioText returns err's text as go-winio gives it: a [PAXError] by its
// cause alone.
func goWinioText(err error) string {
	if pe, ok := err.(*PAXError); ok && pe.Err != nil {
		return pe.Err.Error()
	}
	return err.Error()
}

// ErrInvalidPAX reports a Windows PAX record whose value is malformed; the
// error is a *[PAXError] naming the record.
var ErrInvalidPAX = errors.New("malformed PAX record")

// PAXError reports a malformed value of a Windows PAX record: which record
// (Key), its value, what is wrong (Reason) and the parser's error (Err,
// the cause go-winio reports). It matches [ErrInvalidPAX] with errors.Is.
type PAXError struct {
	Key, Value, Reason string
	Err                error
}

// maxShownValue bounds how much of a PAX value an error message quotes.
const maxShownValue = 64

// Error formats the error as `<key> "<value>": <reason>`.
func (e *PAXError) Error() string {
	v := e.Value
	if len(v) > maxShownValue {
		v = v[:maxShownValue] + "..."
	}
	return fmt.Sprintf("%s %q: %s", e.Key, v, e.Reason)
}

// Unwrap returns [ErrInvalidPAX] and Err.
func (e *PAXError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrInvalidPAX}
	}
	return []error{ErrInvalidPAX, e.Err}
}

// ErrTooLarge reports a metadata stream (security descriptor, EAs, reparse
// buffer) larger than [MaxMetadataSize].
var ErrTooLarge = errors.New("metadata stream too large")

// ErrReparseTargetTooLong reports a symlink target too long for the 16-bit
// length fields of a reparse buffer.
var ErrReparseTargetTooLong = errors.New("symlink target too long for a reparse point")
