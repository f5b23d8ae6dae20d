package backupstream

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"unicode/utf16"
	"unicode/utf8"
)

// Writer writes a backup stream: for each record, [Writer.WriteHeader]
// followed by exactly Header.Size bytes of payload through [Writer.Write]
// or [Writer.ReadFrom]. The first error of the underlying writer (and of
// the source given to ReadFrom) is sticky; [ErrWriteTooLong],
// [ErrMissingBytes] and refused headers are not. A Writer is not safe for
// concurrent use and does not close the underlying writer.
type Writer struct {
	w     io.Writer
	left  int64
	err   error
	buf   []byte
	units []uint16
	lr    io.LimitedReader
}

// NewWriter returns a Writer that writes a backup stream to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// WriteHeader writes the WIN32_STREAM_ID record for h: id, attributes,
// size (plus 8 for a sparse block, whose offset is written here), the name
// as UTF-16LE without terminator. The name is encoded as go-winio does
// (invalid UTF-8 bytes become U+FFFD), except that the three-byte WTF-8
// form of an unpaired surrogate, which [Reader] returns for one, is written
// back as that surrogate: every header the Reader returns re-encodes to
// the same bytes (up to a NUL unit in the name, where the Reader stops).
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
	if h.Size < 0 {
		return fmt.Errorf("stream %s: negative size %d: %w", h.ID, h.Size, ErrCorrupt)
	}
	size := uint64(h.Size)
	extra := 0
	if h.ID == StreamSparseBlock {
		if h.Size > math.MaxInt64-SparseOffsetSize {
			return fmt.Errorf("stream %s: size %d with its offset: %w", h.ID, h.Size, ErrTooLarge)
		}
		size += SparseOffsetSize
		extra = SparseOffsetSize
	}
	w.units = appendName(w.units[:0], h.Name)
	name := w.units
	if 2*len(name) > MaxNameBytes {
		return fmt.Errorf("stream %s: name of %d bytes: %w", h.ID, 2*len(name), ErrTooLarge)
	}
	n := HeaderSize + 2*len(name) + extra
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

// appendName appends the UTF-16 units of name, rune by rune as
// utf16.Encode([]rune(name)) gives them, except that each WTF-8 surrogate
// (bytes ED A0..BF 80..BF, invalid UTF-8) becomes the one unpaired
// surrogate unit it stands for.
func appendName(dst []uint16, name string) []uint16 {
	for i := 0; i < len(name); {
		c, size := utf8.DecodeRuneInString(name[i:])
		if c == utf8.RuneError && size == 1 && i+2 < len(name) && name[i] == 0xed &&
			name[i+1] >= 0xa0 && name[i+1] <= 0xbf && name[i+2] >= 0x80 && name[i+2] <= 0xbf {
			dst = append(dst, 0xd000|uint16(name[i+1]&0x3f)<<6|uint16(name[i+2]&0x3f))
			i += 3
			continue
		}
		dst = utf16.AppendRune(dst, c)
		i += size
	}
	return dst
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
