package backupstream

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
)

// copyBufPool shares copy buffers between readers and writers so that many
// small files cost no allocation per payload.
var copyBufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// Reader reads the records of a backup stream in order. Like archive/tar's
// Reader it is a cursor: [Reader.Next] advances to the next record and
// [Reader.Read] reads that record's payload. The first error other than
// the end of the stream is sticky: every later call returns it. That
// includes errors of the underlying reader met while reading a payload,
// and the error of the destination in [Reader.WriteTo].
//
// When the underlying reader is an [io.Seeker] whose Seek(0, io.SeekCurrent)
// succeeds, unread payload is skipped with Seek; otherwise it is read and
// discarded. As with go-winio's BackupStreamReader, a payload skipped with
// Seek is not checked against the end of the source: when a stream ends
// inside a payload that is skipped, Seek goes past the end and the next
// [Reader.Next] returns [io.EOF]. (go-winio's two-pass tar export relies on
// this: its first pass skips the data stream and ends there, and reading
// the data in the second pass reports the truncation.) Read the payload, or
// hide Seek, to detect a truncated last payload. A payload claiming bytes
// past the largest int64 offset is [io.ErrUnexpectedEOF] either way.
// A Reader is not safe for concurrent use.
type Reader struct {
	r    io.Reader
	left int64 // unread payload bytes of the current record
	off  int64 // bytes consumed from r (headers and payload)
	err  error
	lr   io.LimitedReader
	hdr  [HeaderSize]byte
	raw  []byte // the current name's UTF-16LE bytes, reused
	name []byte // the current name decoded, reused
}

// NewReader returns a Reader that reads a backup stream from r. The Reader
// does not buffer: it reads exactly the bytes of each header and payload.
func NewReader(r io.Reader) *Reader { return &Reader{r: r} }

// Offset returns the number of bytes of the stream consumed so far
// (skipped payload included).
func (r *Reader) Offset() int64 { return r.off }

// Next skips what is left of the current record and returns the header of
// the next one. It returns [io.EOF] when the stream ends cleanly between
// records, [io.ErrUnexpectedEOF] (wrapped with the offset) when it ends
// inside a header, name, sparse block offset or a payload skipped by
// reading (see [Reader] for payloads skipped with Seek), and an
// error wrapping [ErrCorrupt] or [ErrTooLarge] for a header no backup
// stream can have (odd name size, size beyond int64, sparse block shorter
// than its offset, name over [MaxNameBytes]). The name is read through a
// buffer that grows only as its bytes arrive, so a header alone cannot make
// the Reader allocate.
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

// unexpected turns the io.EOF of a read that had to succeed into
// io.ErrUnexpectedEOF and keeps every other error.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// skip moves past the unread payload of the current record.
func (r *Reader) skip() error {
	if s, ok := r.r.(io.Seeker); ok {
		if cur, err := s.Seek(0, io.SeekCurrent); err == nil {
			if r.left > math.MaxInt64-cur {
				// No source holds a byte past the largest offset.
				return fmt.Errorf("payload at offset %d: %w", r.off, io.ErrUnexpectedEOF)
			}
			if _, err := s.Seek(r.left, io.SeekCurrent); err != nil {
				return fmt.Errorf("skip payload at offset %d: %w", r.off, err)
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
		return nil, fmt.Errorf("stream header at offset %d: %w", start, err)
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
	if h.ID == StreamSparseBlock && h.Size < SparseOffsetSize {
		return nil, fmt.Errorf("stream header at offset %d: sparse block size %d < 8: %w", start, h.Size, ErrCorrupt)
	}
	if nameSize > 0 {
		raw, err := r.readName(int(nameSize))
		if err != nil {
			return nil, fmt.Errorf("stream name at offset %d: %w", start, err)
		}
		h.Name = r.decodeName(raw)
	}
	if h.ID == StreamSparseBlock {
		off := r.hdr[:SparseOffsetSize] // the header is decoded: reuse its bytes
		n, err := io.ReadFull(r.r, off)
		r.off += int64(n)
		if err != nil {
			return nil, fmt.Errorf("sparse block offset at offset %d: %w", start, unexpected(err))
		}
		h.Offset = int64(binary.LittleEndian.Uint64(off))
		h.Size -= SparseOffsetSize
	}
	r.left = h.Size
	return h, nil
}

// readName reads a name of size bytes into the reused buffer, growing it
// only as bytes arrive: memory follows the stream, not the header's claim.
func (r *Reader) readName(size int) ([]byte, error) {
	buf := r.raw[:0]
	for len(buf) < size {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(size-len(buf), max(len(buf), 256)))
		}
		n, err := io.ReadFull(r.r, buf[len(buf):min(size, cap(buf))])
		buf = buf[:len(buf)+n]
		r.off += int64(n)
		if err != nil {
			r.raw = buf[:0]
			return nil, unexpected(err)
		}
	}
	r.raw = buf[:0]
	return buf, nil
}

// decodeName decodes a name with [AppendDecodedName] into the reused buffer.
func (r *Reader) decodeName(b []byte) string {
	r.name = AppendDecodedName(r.name[:0], b)
	return string(r.name)
}

// UTF-16 surrogate ranges: high [0xd800, surrLow), low [surrLow, surrEnd).
const (
	surrLow = 0xdc00
	surrEnd = 0xe000
)

// Read reads the payload of the current record. It returns [io.EOF] at the
// end of the payload and [io.ErrUnexpectedEOF] when the underlying reader
// ends before it; that and any other error of the underlying reader stick.
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
	if err != nil {
		r.err = err
		return n, err
	}
	if r.left == 0 {
		return n, io.EOF
	}
	return n, nil
}

// WriteTo copies the rest of the current payload to w, so that io.Copy
// from a Reader moves the bytes in large chunks (or with w's ReadFrom, such
// as an *os.File's copy_file_range) instead of 32 KiB reads. It returns
// [io.ErrUnexpectedEOF] when the underlying reader ends early. Its errors,
// w's included, stick: bytes taken from the source but not written are
// lost. [Reader.Offset] counts every byte taken from the source.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	if r.err != nil && r.err != io.EOF {
		return 0, r.err
	}
	if r.left == 0 {
		return 0, nil
	}
	r.lr = io.LimitedReader{R: r.r, N: r.left}
	n, err := copyLimited(w, &r.lr)
	// n counts what w took; the source gave r.left-r.lr.N, which is more
	// when w failed after a read.
	r.off += r.left - r.lr.N
	r.left = r.lr.N
	r.lr.R = nil
	if err == nil && r.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		r.err = err
	}
	return n, err
}

// copyLimited copies src to dst with dst's ReadFrom when it has one (as
// io.Copy would, the pooled buffer unused) and through a pooled buffer
// otherwise.
func copyLimited(dst io.Writer, src *io.LimitedReader) (int64, error) {
	if rf, ok := dst.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	bp := copyBufPool.Get().(*[]byte)
	n, err := io.CopyBuffer(dst, src, *bp)
	copyBufPool.Put(bp)
	return n, err
}
