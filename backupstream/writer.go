package backupstream

import (
	"fmt"
	"io"
)

// Writer writes a backup stream: for each record, [Writer.WriteHeader]
// followed by exactly Header.Size bytes of payload through [Writer.Write]
// or [Writer.ReadFrom]. The first error of the underlying writer (and of
// the source given to ReadFrom) is sticky; [ErrWriteTooLong],
// [ErrMissingBytes] and refused headers are not. A Writer is not safe for
// concurrent use and does not close the underlying writer.
type Writer struct {
	w    io.Writer
	left int64
	err  error
	buf  []byte
	lr   io.LimitedReader
}

// NewWriter returns a Writer that writes a backup stream to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// WriteHeader writes the WIN32_STREAM_ID record for h as [AppendHeader]
// encodes it: every header [Reader] or [Decoder] returns re-encodes to the
// same bytes (up to a NUL unit in the name, where they stop).
//
// WriteHeader fails with [ErrMissingBytes] when the previous record's
// payload is incomplete, wraps [ErrCorrupt] for a negative size, and wraps
// [ErrTooLarge] for a name over [MaxNameBytes] or a sparse block whose
// size with its offset exceeds int64: records the Reader would refuse.
// Nothing is written then, and the Writer stays usable.
func (w *Writer) WriteHeader(h *Header) error {
	if w.err != nil {
		return w.err
	}
	if w.left != 0 {
		return fmt.Errorf("%w: missing %d bytes", ErrMissingBytes, w.left)
	}
	b, err := AppendHeader(w.buf[:0], h)
	if err != nil {
		return err
	}
	w.buf = b
	if _, err := w.w.Write(b); err != nil {
		w.err = err
		return err
	}
	w.left = h.Size
	return nil
}

// Write writes payload bytes of the current record. Writing more than the
// header announced fails with [ErrWriteTooLong] and writes nothing.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if int64(len(p)) > w.left {
		return 0, fmt.Errorf("%w: too many bytes by %d", ErrWriteTooLong, int64(len(p))-w.left)
	}
	n, err := w.w.Write(p)
	w.left -= int64(n)
	if err != nil {
		w.err = err
	}
	return n, err
}

// ReadFrom copies the payload of the current record from src until src
// ends, using the underlying writer's ReadFrom where it has one. It fails
// with [ErrWriteTooLong] when src holds more bytes than the record's size
// (after writing the whole payload; the one byte read past it to tell is
// lost) and the Writer stays usable. When src ends early it returns what
// it copied and no error: the missing bytes are reported by the next
// [Writer.WriteHeader] or [Writer.Close] as [ErrMissingBytes].
func (w *Writer) ReadFrom(src io.Reader) (int64, error) {
	if w.err != nil {
		return 0, w.err
	}
	var total int64
	if w.left > 0 {
		w.lr = io.LimitedReader{R: src, N: w.left}
		n, err := copyLimited(w.w, &w.lr)
		w.lr.R = nil
		w.left -= n
		total = n
		if err != nil {
			w.err = err
			return total, err
		}
		if w.left > 0 {
			return total, nil // src ended early; the caller sees the missing bytes at the next header
		}
	}
	var probe [1]byte
	for {
		n, err := src.Read(probe[:])
		if n > 0 {
			return total, fmt.Errorf("%w: source longer than the stream size", ErrWriteTooLong)
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// Close checks that the last record's payload was written in full. It
// does not close the underlying writer.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if w.left != 0 {
		return fmt.Errorf("%w: missing %d bytes", ErrMissingBytes, w.left)
	}
	return nil
}
