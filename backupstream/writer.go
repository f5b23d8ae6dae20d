package backupstream

import (
	"encoding/binary"
	"fmt"
	"io"
	"unicode/utf16"
)

// Writer writes a backup stream: for each record, [Writer.WriteHeader]
// followed by exactly Header.Size bytes of payload through [Writer.Write]
// or [Writer.ReadFrom]. The first error is sticky. A Writer is not safe for
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

// WriteHeader writes the WIN32_STREAM_ID record for h: id, attributes,
// size (plus 8 for a sparse block, whose offset is written here), the name
// as UTF-16LE without terminator. It fails with [ErrMissingBytes] when the
// previous record's payload is incomplete.
func (w *Writer) WriteHeader(h *Header) error {
	if w.err != nil {
		return w.err
	}
	if w.left != 0 {
		return fmt.Errorf("%w: missing %d bytes", ErrMissingBytes, w.left)
	}
	if h.Size < 0 {
		return fmt.Errorf("stream %s: negative size %d: %w", h.ID, h.Size, ErrCorrupt)
	}
	name := utf16.Encode([]rune(h.Name))
	size := uint64(h.Size)
	n := HeaderSize + 2*len(name)
	if h.ID == StreamSparseBlock {
		size += SparseOffsetSize
		n += SparseOffsetSize
	}
	if cap(w.buf) < n {
		w.buf = make([]byte, n)
	}
	b := w.buf[:n]
	binary.LittleEndian.PutUint32(b[0:], uint32(h.ID))
	binary.LittleEndian.PutUint32(b[4:], h.Attributes)
	binary.LittleEndian.PutUint64(b[8:], size)
	binary.LittleEndian.PutUint32(b[16:], uint32(2*len(name)))
	for i, u := range name {
		binary.LittleEndian.PutUint16(b[HeaderSize+2*i:], u)
	}
	if h.ID == StreamSparseBlock {
		binary.LittleEndian.PutUint64(b[HeaderSize+2*len(name):], uint64(h.Offset))
	}
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
// with [ErrWriteTooLong] when src holds more bytes than the record's size.
func (w *Writer) ReadFrom(src io.Reader) (int64, error) {
	if w.err != nil {
		return 0, w.err
	}
	var total int64
	if w.left > 0 {
		w.lr = io.LimitedReader{R: src, N: w.left}
		bp := copyBufPool.Get().(*[]byte)
		n, err := io.CopyBuffer(w.w, &w.lr, *bp)
		copyBufPool.Put(bp)
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
