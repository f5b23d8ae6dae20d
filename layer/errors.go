package layer

import (
	"errors"
	"io/fs"

	"github.com/winlayer/winlayer/wintar"
)

// Sentinel errors; test them with errors.Is.
var (
	// ErrNotExist reports a layer that is not in the store. It matches
	// fs.ErrNotExist too (errors.Is), so callers that only care that
	// something is missing need not know the store.
	ErrNotExist error = notExistError{}
	// ErrClosed reports a call on a [Writer] after Close or Abort.
	ErrClosed = errors.New("layer writer is closed")
	// ErrExists reports an import or create of an id already in the store.
	ErrExists = errors.New("layer already exists")
	// ErrInvalidID reports an id that is not a valid layer id.
	ErrInvalidID = errors.New("invalid layer id")
	// ErrInvalidEntry reports a layer tar entry the store refuses: an
	// unsafe or duplicate name, a link to nothing, a write through a link.
	ErrInvalidEntry = errors.New("invalid layer entry")
	// ErrCorrupt reports layer metadata that cannot be read back.
	ErrCorrupt = errors.New("corrupt layer")
	// ErrTruncated reports a layer tar that ends before its end-of-archive marker.
	ErrTruncated = errors.New("truncated layer tar")
	// ErrNotTar reports an input to import that is not a tar at all; the
	// error says what it looks like (compressed, text, unknown data).
	ErrNotTar = errors.New("not a tar")
	// ErrInUse reports a layer another process is importing, or one that
	// other layers' parent chains name (see [Store.Remove]).
	ErrInUse = errors.New("layer in use")
	// ErrBadChain reports parents of a new layer that are not a whole,
	// consistent chain: not the nearest parent followed by its own chain,
	// a parent named twice, a missing layer in a parent's chain (see
	// [Store.NewWriter]).
	ErrBadChain = errors.New("bad parent chain")
)

// notExistError is ErrNotExist: a distinct sentinel that also matches
// fs.ErrNotExist.
type notExistError struct{}

func (notExistError) Error() string { return "layer does not exist" }

// Is makes errors.Is(ErrNotExist, fs.ErrNotExist) hold.
func (notExistError) Is(target error) bool { return target == fs.ErrNotExist }

// asInvalidEntry makes an import error that the tar codec refused an
// entry for (unsafe name, unsupported type, orphan stream) match
// ErrInvalidEntry too, as its documentation says, keeping its message.
func asInvalidEntry(err error) error {
	if errors.Is(err, ErrInvalidEntry) {
		return err
	}
	for _, e := range []error{wintar.ErrUnsafeName, wintar.ErrUnsupportedType, wintar.ErrOrphanStream} {
		if errors.Is(err, e) {
			return invalidEntryError{err}
		}
	}
	return err
}

// invalidEntryError is an entry error of the tar codec seen as ErrInvalidEntry.
type invalidEntryError struct{ error }

func (e invalidEntryError) Unwrap() error        { return e.error }
func (e invalidEntryError) Is(target error) bool { return target == ErrInvalidEntry }
