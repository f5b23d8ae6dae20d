package backupstream

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
)

// Handler receives what a [Decoder] decodes, record by record: Header,
// then the payload in order through Payload (in chunks as they arrive,
// none for an empty payload), then End. An error a method returns stops
// the Decoder: its Write returns that error, and every later call too.
type Handler interface {
	// Header is called once a record's header is complete (its name
	// decoded, a sparse block's offset read). h belongs to the Decoder
	// and is valid until End returns.
	Header(h *Header) error
	// Payload receives the next bytes of the current record's payload.
	// p must not be retained after the call.
	Payload(p []byte) error
	// End is called when the current record's payload is complete (right
	// after Header for an empty payload).
	End() error
}

// Decoder is the push form of [Reader]: the bytes of a backup stream are
// written to it in any chunking with [Decoder.Write] and it calls its
// [Handler] for each header, payload chunk and record end. It applies
// the Reader's checks with the same errors (a size beyond int64 or an odd
// name size wraps [ErrCorrupt], a name over [MaxNameBytes] [ErrTooLarge],
// a sparse block shorter than its offset [ErrCorrupt]) and decodes names
// as the Reader does ([AppendDecodedName]); a name's buffer grows only as
// its bytes arrive. [Decoder.Close] reports a stream that ends inside a
// record ([io.ErrUnexpectedEOF]). The first error, the Handler's
// included, is sticky. A Decoder is not safe for concurrent use.
type Decoder struct {
	h     Handler
	phase int
	hdr   [HeaderSize]byte
	hn    int    // bytes of hdr (or of the sparse offset in hdr[:8]) received
	raw   []byte // the current name's UTF-16LE bytes, reused
	size  int    // the current name's size in bytes
	name  []byte // the current name decoded, reused
	cur   Header
	left  int64 // payload bytes still expected
	start int64 // offset of the current header
	off   int64 // bytes consumed
	err   error
}

// Decoder phases: what the next byte belongs to.
const (
	phHeader = iota
	phName
	phOffset
	phPayload
)

// NewDecoder returns a Decoder that calls h.
func NewDecoder(h Handler) *Decoder { return &Decoder{h: h} }

// Reset makes d decode a new stream for h, keeping its buffers.
func (d *Decoder) Reset(h Handler) {
	*d = Decoder{h: h, raw: d.raw[:0], name: d.name[:0]}
}

// Offset returns the number of bytes of the stream consumed so far.
func (d *Decoder) Offset() int64 { return d.off }

// Write decodes the bytes of p. It returns len(p) and nil when every
// byte was taken, else the number of bytes taken before the piece
// (header, name, offset or payload chunk) whose decoding or handling
// failed, and that error.
func (d *Decoder) Write(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	total := len(p)
	for len(p) > 0 {
		var n int
		var err error
		switch d.phase {
		case phHeader:
			if d.hn == 0 {
				d.start = d.off
			}
			n = copy(d.hdr[d.hn:], p)
			if d.hn += n; d.hn == HeaderSize {
				err = d.header()
			}
		case phName:
			n = d.nameBytes(p)
			if len(d.raw) == d.size {
				d.cur.Name = d.decodeName()
				err = d.afterName()
			}
		case phOffset:
			n = copy(d.hdr[d.hn:SparseOffsetSize], p)
			if d.hn += n; d.hn == SparseOffsetSize {
				d.cur.Offset = int64(binary.LittleEndian.Uint64(d.hdr[:SparseOffsetSize]))
				err = d.begin()
			}
		case phPayload:
			n = int(min(int64(len(p)), d.left))
			if err = d.h.Payload(p[:n]); err == nil {
				if d.left -= int64(n); d.left == 0 {
					err = d.end()
				}
			}
		}
		if err != nil {
			d.err = err
			return total - len(p), err
		}
		d.off += int64(n)
		p = p[n:]
	}
	return total, nil
}

// header checks the fixed part of a header.
func (d *Decoder) header() error {
	b := d.hdr[:]
	d.cur = Header{
		ID:         StreamID(binary.LittleEndian.Uint32(b[0:4])),
		Attributes: binary.LittleEndian.Uint32(b[4:8]),
	}
	size := binary.LittleEndian.Uint64(b[8:16])
	nameSize := binary.LittleEndian.Uint32(b[16:20])
	start := d.start
	if size > math.MaxInt64 {
		return fmt.Errorf("stream header at offset %d: size %d: %w", start, size, ErrCorrupt)
	}
	d.cur.Size = int64(size)
	if nameSize%2 != 0 {
		return fmt.Errorf("stream header at offset %d: odd name size %d: %w", start, nameSize, ErrCorrupt)
	}
	if nameSize > MaxNameBytes {
		return fmt.Errorf("stream header at offset %d: name size %d: %w", start, nameSize, ErrTooLarge)
	}
	if d.cur.ID == StreamSparseBlock && d.cur.Size < SparseOffsetSize {
		return fmt.Errorf("stream header at offset %d: sparse block size %d < 8: %w", start, d.cur.Size, ErrCorrupt)
	}
	if nameSize > 0 {
		d.phase, d.size, d.raw = phName, int(nameSize), d.raw[:0]
		return nil
	}
	return d.afterName()
}

// nameBytes takes name bytes from p, growing the name buffer only as they
// arrive, and returns how many it took.
func (d *Decoder) nameBytes(p []byte) int {
	want := d.size - len(d.raw)
	if len(p) > want {
		p = p[:want]
	}
	if len(d.raw)+len(p) > cap(d.raw) {
		d.raw = slices.Grow(d.raw, max(len(p), min(want, max(len(d.raw), 256))))
	}
	d.raw = append(d.raw, p...)
	return len(p)
}

// decodeName decodes the name with [AppendDecodedName] into the reused buffer.
func (d *Decoder) decodeName() string {
	d.name = AppendDecodedName(d.name[:0], d.raw)
	return string(d.name)
}

// afterName moves on to a sparse block's offset or to the payload.
func (d *Decoder) afterName() error {
	if d.cur.ID == StreamSparseBlock {
		d.phase, d.hn = phOffset, 0
		return nil
	}
	return d.begin()
}

// begin hands the complete header to the Handler.
func (d *Decoder) begin() error {
	if d.cur.ID == StreamSparseBlock {
		d.cur.Size -= SparseOffsetSize
	}
	d.phase, d.left = phPayload, d.cur.Size
	if err := d.h.Header(&d.cur); err != nil {
		return err
	}
	if d.left == 0 {
		return d.end()
	}
	return nil
}

// end closes the current record.
func (d *Decoder) end() error {
	d.phase, d.hn = phHeader, 0
	return d.h.End()
}

// Payload returns the header of the record whose payload d expects and
// the number of payload bytes left, or nil and 0 when d is not inside a
// payload (or has failed).
func (d *Decoder) Payload() (*Header, int64) {
	if d.err != nil || d.phase != phPayload {
		return nil, 0
	}
	return &d.cur, d.left
}

// Delivered counts n payload bytes of the current record that reached
// their destination without going through Write or the Handler's Payload
// (say, read straight into a file by the caller), and calls End when the
// payload is complete. n must be at most what [Decoder.Payload] reports
// left; more fails (stickily), as does calling it outside a payload.
func (d *Decoder) Delivered(n int64) error {
	if d.err != nil {
		return d.err
	}
	if d.phase != phPayload || n < 0 || n > d.left {
		d.err = fmt.Errorf("backup stream: %d payload bytes delivered with %d expected: %w", n, d.left, ErrWriteTooLong)
		return d.err
	}
	d.left -= n
	d.off += n
	if d.left == 0 {
		if err := d.end(); err != nil {
			d.err = err
			return err
		}
	}
	return nil
}

// Close reports whether the stream ended between records: it returns the
// sticky error if there is one, else an error wrapping
// [io.ErrUnexpectedEOF] (which sticks) when the stream ended inside a
// header, name, sparse block offset or payload, else nil. Close does not
// call the Handler.
func (d *Decoder) Close() error {
	if d.err != nil {
		return d.err
	}
	var what string
	switch {
	case d.phase == phHeader && d.hn == 0:
		return nil
	case d.phase == phHeader:
		what = "stream header"
	case d.phase == phName:
		what = "stream name"
	case d.phase == phOffset:
		what = "sparse block offset"
	default:
		d.err = fmt.Errorf("payload at offset %d: %w", d.off, io.ErrUnexpectedEOF)
		return d.err
	}
	d.err = fmt.Errorf("%s at offset %d: %w", what, d.start, io.ErrUnexpectedEOF)
	return d.err
}
