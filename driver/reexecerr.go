package driver

import (
	"encoding/json"
	"errors"
	"io/fs"
	"strings"
	"syscall"

	"github.com/winlayer/winlayer/backupstream"
	"github.com/winlayer/winlayer/layer"
	"github.com/winlayer/winlayer/wintar"
)

// errorKinds are the sentinel errors that cross the ApplyDiff re-exec
// boundary by name: the child reports every one its error matches, the
// parent rebuilds an error that matches them all (errors.Is).
var errorKinds = map[string]error{
	"layer.not_exist":             layer.ErrNotExist,
	"layer.exists":                layer.ErrExists,
	"layer.invalid_id":            layer.ErrInvalidID,
	"layer.invalid_entry":         layer.ErrInvalidEntry,
	"layer.corrupt":               layer.ErrCorrupt,
	"layer.truncated":             layer.ErrTruncated,
	"layer.not_tar":               layer.ErrNotTar,
	"layer.in_use":                layer.ErrInUse,
	"layer.bad_chain":             layer.ErrBadChain,
	"layer.closed":                layer.ErrClosed,
	"layer.no_store":              layer.ErrNoStore,
	"layer.read_only":             layer.ErrReadOnly,
	"layer.committed_not_durable": layer.ErrCommittedNotDurable,
	"wintar.unsafe_name":          wintar.ErrUnsafeName,
	"wintar.unsupported_type":     wintar.ErrUnsupportedType,
	"wintar.orphan_stream":        wintar.ErrOrphanStream,
	"wintar.invalid_pax":          wintar.ErrInvalidPAX,
	"wintar.too_large":            wintar.ErrTooLarge,
	"wintar.sparse":               wintar.ErrSparse,
	"backupstream.corrupt":        backupstream.ErrCorrupt,
	"backupstream.too_large":      backupstream.ErrTooLarge,
	"fs.not_exist":                fs.ErrNotExist,
	"fs.exist":                    fs.ErrExist,
	"fs.permission":               fs.ErrPermission,
	"errno.ENOSPC":                syscall.ENOSPC,
	"errno.EDQUOT":                syscall.EDQUOT,
	"errno.EIO":                   syscall.EIO,
}

// childError is the JSON line the ApplyDiff child writes to standard
// error when it fails.
type childError struct {
	Kinds   []string `json:"kinds"`
	Message string   `json:"message"`
}

// encodeChildError returns the JSON line for err.
func encodeChildError(err error) []byte {
	ce := childError{Message: err.Error()}
	for name, sentinel := range errorKinds {
		if errors.Is(err, sentinel) {
			ce.Kinds = append(ce.Kinds, name)
		}
	}
	b, _ := json.Marshal(ce)
	return append(b, '\n')
}

// reexecError is an error of the ApplyDiff child rebuilt in the parent:
// its message, matching (errors.Is) the sentinels the child's error did.
type reexecError struct {
	msg   string
	kinds []error
}

func (e *reexecError) Error() string   { return e.msg }
func (e *reexecError) Unwrap() []error { return e.kinds }

// decodeChildError rebuilds the child's error from its standard error:
// the last line that is a childError, else nil (the child died without
// reporting: a crash or a kill).
func decodeChildError(stderr string) error {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		var ce childError
		if json.Unmarshal([]byte(lines[i]), &ce) != nil || ce.Message == "" {
			continue
		}
		e := &reexecError{msg: ce.Message}
		for _, k := range ce.Kinds {
			if s, ok := errorKinds[k]; ok {
				e.kinds = append(e.kinds, s)
			}
		}
		return e
	}
	return nil
}
