package splitrec

import (
	"bytes"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/vbatts/tar-split/tar/storage"

	"github.com/winlayer/winlayer/internal/directio"
)

// ErrMismatch reports a payload whose size or CRC-32C is not the one
// recorded: the file changed since the import.
var ErrMismatch = errors.New("payload does not match the tar-split record")

// Assemble writes the tar a tar-split record describes: segments verbatim,
// each payload from the getter, exactly its recorded size, checked against
// its recorded CRC-32C (a changed or truncated file fails the export with
// an error naming it). With verifyFirst a payload is checked before any
// of its bytes are written (the export's VerifyBeforeWrite).
func Assemble(w io.Writer, u *Unpacker, g storage.FileGetter, verifyFirst bool) error {
	buf := make([]byte, 256<<10)
	crc := NewCRC()
	var held []byte // verifyFirst: a small payload, read whole
	for {
		e, err := u.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch e.Type {
		case storage.SegmentType:
			if _, err := w.Write(e.Payload); err != nil {
				return err
			}
		case storage.FileType:
			if e.Size == 0 {
				continue
			}
			name := e.GetName()
			if !verifyFirst {
				if err := copyPayload(w, g, name, e, crc, buf); err != nil {
					return err
				}
				continue
			}
			if e.Size <= MaxHeldPayload {
				if int64(cap(held)) < e.Size {
					held = make([]byte, 0, min(max(2*int64(cap(held)), e.Size), MaxHeldPayload))
				}
				bw := bytes.NewBuffer(held[:0])
				if err := copyPayload(bw, g, name, e, crc, buf); err != nil {
					return err
				}
				if _, err := w.Write(bw.Bytes()); err != nil {
					return err
				}
				continue
			}
			if err := copyPayload(io.Discard, g, name, e, crc, buf); err != nil {
				return err
			}
			if err := copyPayload(w, g, name, e, crc, buf); err != nil {
				return err
			}
		}
	}
}

// MaxHeldPayload is the largest payload a verifying export holds in
// memory; larger ones are read twice.
const MaxHeldPayload = 8 << 20

// copyPayload copies payload name of record entry e to w and checks its
// size and CRC-32C.
func copyPayload(w io.Writer, g storage.FileGetter, name string, e *storage.Entry, crc hash.Hash32, buf []byte) error {
	f, err := g.Get(name)
	if err != nil {
		return err
	}
	crc.Reset()
	var pr io.ReadCloser = io.NopCloser(io.LimitReader(f, e.Size))
	if of, ok := f.(*os.File); ok {
		pr = directio.PayloadReader(of, e.Size)
	}
	n, err := io.CopyBuffer(io.MultiWriter(w, crc), pr, buf)
	pr.Close()
	f.Close()
	if err != nil {
		return fmt.Errorf("payload of %q: %w", name, err)
	}
	if n != e.Size {
		return fmt.Errorf("payload of %q: %d bytes, recorded %d: %w", name, n, e.Size, ErrMismatch)
	}
	if !bytes.Equal(crc.Sum(nil), e.Payload) {
		return fmt.Errorf("file integrity checksum failed for %q: %w", name, ErrMismatch)
	}
	return nil
}
