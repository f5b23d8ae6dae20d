package layer

import "errors"

// Sentinel errors; test them with errors.Is.
var (
	// ErrNotExist reports a layer that is not in the store.
	ErrNotExist = errors.New("layer does not exist")
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
