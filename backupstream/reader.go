package backupstream

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"unicode/utf16"
)

// copyBufPool shares copy buffers between readers and writers so that many
// small files cost no allocation per payload.
var copyBufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// Reader reads the records of a backup stream in order. Like archive/tar's
// Reader it is a cursor: [Reader.Next] advances to the next record and
// [Reader.Read] reads that record's payload. The first error other than
// the end of the stream is sticky: every later call returns it.
//
// When the underlying reader is an [io.Seeker] whose Seek(0, io.SeekCurrent)
// succeeds, unread payload is skipped with Seek; otherwise it is read and
// discarded. A Reader is not safe for concurrent use.
type Reader struct {
	r    io.Reader
	left int64 // unread payload bytes of the current record
	off  int64 // bytes consumed from r (headers and payload)
	err  error
	lr   io.LimitedReader
	hdr  [HeaderSize]byte
	name []uint16
}

// NewReader returns a Reader that reads a backup stream from r. The Reader
// does not buffer: it reads exactly the bytes of each header and payload.
func NewReader(r io.Reader) *Reader { return &Reader{r: r} }

// Offset returns the number of bytes of the stream consumed so far.
func (r *Reader) Offset() int64 { return r.off }

// Next skips what is left of the current record and returns the header of
// the next one. It returns [io.EOF] when the stream ends cleanly between
// records, [io.ErrUnexpectedEOF] (wrapped with the offset) when it ends
// inside a header or payload, and an error wrapping [ErrCorrupt] or
// [ErrTooLarge] for a header no backup stream can have (odd name size,
// size beyond int64, sparse block shorter than its offset field).
func (r *Reader) Next() (*Header, error) {
	if r.err != nil {
		return nil, r.err
	}
	h, err := r.next()
	if err != nil {
		r.err = err
		return nil, err
	}
	return h, nil
}

func (r *Reader) skip() error {
	if s, ok := r.r.(io.Seeker); ok {
		if _, err := s.Seek(0, io.SeekCurrent); err == nil {
			if _, err := s.Seek(r.left, io.SeekCurrent); err != nil {
				return err
			}
			r.off += r.left
			r.left = 0
			return nil
		}
	}
	n, err := io.CopyN(io.Discard, r.r, r.left)
	r.off += n
	r.left -= n
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("payload at offset %d: %w", r.off, io.ErrUnexpectedEOF)
	}
	return err
}

func (r *Reader) next() (*Header, error) {
	if r.left > 0 {
		if err := r.skip(); err != nil {
			return nil, err
		}
	}
	start := r.off
	n, err := io.ReadFull(r.r, r.hdr[:])
	r.off += int64(n)
	switch {
	case errors.Is(err, io.EOF):
		return nil, io.EOF
	case errors.Is(err, io.ErrUnexpectedEOF):
		return nil, fmt.Errorf("stream header at offset %d: %w", start, io.ErrUnexpectedEOF)
	case err != nil:
		return nil, err
	}
	id := binary.LittleEndian.Uint32(r.hdr[0:4])
	h := &Header{
		ID:         StreamID(id),
		Attributes: binary.LittleEndian.Uint32(r.hdr[4:8]),
	}
	size := binary.LittleEndian.Uint64(r.hdr[8:16])
	nameSize := binary.LittleEndian.Uint32(r.hdr[16:20])
	if size > math.MaxInt64 {
		return nil, fmt.Errorf("stream header at offset %d: size %d: %w", start, size, ErrCorrupt)
	}
	h.Size = int64(size)
	if nameSize%2 != 0 {
		return nil, fmt.Errorf("stream header at offset %d: odd name size %d: %w", start, nameSize, ErrCorrupt)
	}
	if nameSize > MaxNameBytes {
		return nil, fmt.Errorf("stream header at offset %d: name size %d: %w", start, nameSize, ErrTooLarge)
	}
	if nameSize > 0 {
		units := int(nameSize / 2)
		if cap(r.name) < units {
			r.name = make([]uint16, units)
		}
		r.name = r.name[:units]
		if err := r.readFull(r.name); err != nil {
			return nil, fmt.Errorf("stream name at offset %d: %w", start, err)
		}
		h.Name = utf16String(r.name)
	}
	if h.ID == StreamSparseBlock {
		if h.Size < SparseOffsetSize {
			return nil, fmt.Errorf("stream header at offset %d: sparse block size %d < 8: %w", start, h.Size, ErrCorrupt)
		}
		var off [8]byte
		n, err := io.ReadFull(r.r, off[:])
		r.off += int64(n)
		if err != nil {
			return nil, fmt.Errorf("sparse block offset at offset %d: %w", start, io.ErrUnexpectedEOF)
		}
		h.Offset = int64(binary.LittleEndian.Uint64(off[:]))
		h.Size -= SparseOffsetSize
	}
	r.left = h.Size
	return h, nil
}

// readFull reads little-endian UTF-16 units; any short read is unexpected EOF.
func (r *Reader) readFull(dst []uint16) error {
	buf := make([]byte, 2*len(dst))
	n, err := io.ReadFull(r.r, buf)
	r.off += int64(n)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	for i := range dst {
		dst[i] = binary.LittleEndian.Uint16(buf[2*i:])
	}
	return nil
}

// utf16String decodes UTF-16 up to the first NUL unit, as Windows'
// UTF16ToString does; unpaired surrogates become U+FFFD.
func utf16String(s []uint16) string {
	for i, v := range s {
		if v == 0 {
			s = s[:i]
			break
		}
	}
	return string(utf16.Decode(s))
}

// Read reads the payload of the current record. It returns [io.EOF] at the
// end of the payload and [io.ErrUnexpectedEOF] when the underlying reader
// ends before it.
func (r *Reader) Read(p []byte) (int, error) {
	if r.err != nil && r.err != io.EOF {
		return 0, r.err
	}
	if r.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.r.Read(p)
	r.left -= int64(n)
	r.off += int64(n)
	if err == io.EOF {
		if r.left > 0 {
			err = io.ErrUnexpectedEOF
		} else {
			err = nil
		}
	}
	if err == nil && r.left == 0 {
		err = io.EOF
	}
	return n, err
}

// WriteTo copies the rest of the current payload to w, so that io.Copy
// from a Reader moves the bytes in large chunks (or with w's ReadFrom, such
// as an *os.File's copy_file_range) instead of 32 KiB reads. It returns
// [io.ErrUnexpectedEOF] when the underlying reader ends early.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	if r.err != nil && r.err != io.EOF {
		return 0, r.err
	}
	if r.left == 0 {
		return 0, nil
	}
	r.lr = io.LimitedReader{R: r.r, N: r.left}
	bp := copyBufPool.Get().(*[]byte)
	n, err := io.CopyBuffer(w, &r.lr, *bp)
	copyBufPool.Put(bp)
	r.left -= n
	r.off += n
	if err == nil && r.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}
