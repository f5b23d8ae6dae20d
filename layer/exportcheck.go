package layer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
)

// digestWriter hashes what an export writes, so that the export can
// prove at its end that the tar it reassembled is the tar that was
// imported: the same length and sha256 as the layer's DiffID. Payload
// CRCs catch a changed file; this catches everything else (a damaged
// tar-split record, an entry the record cannot reproduce).
type digestWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func newDigestWriter(w io.Writer) *digestWriter {
	return &digestWriter{w: w, h: sha256.New()}
}

func (d *digestWriter) Write(p []byte) (int, error) {
	n, err := d.w.Write(p)
	d.h.Write(p[:n])
	d.n += int64(n)
	return n, err
}

// check compares what was written with the imported tar's length and
// DiffID; the error wraps ErrCorrupt.
func (d *digestWriter) check(m *Meta) error {
	got := "sha256:" + hex.EncodeToString(d.h.Sum(nil))
	if d.n != m.TarSize || got != m.DiffID {
		return fmt.Errorf("the reassembled tar (%d bytes, %s) is not the tar that was imported (%d bytes, %s): %w",
			d.n, got, m.TarSize, m.DiffID, ErrCorrupt)
	}
	return nil
}
