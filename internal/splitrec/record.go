package splitrec

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"path/filepath"

	"github.com/vbatts/tar-split/tar/storage"
)

// The record holds the entries of tar-split's disassembly in a compact binary form, gzipped:
// per entry a type byte (1 file, 2 segment), then for a segment its
// length (uvarint) and raw bytes (headers, padding, trailer); for a file
// its name (uvarint length + bytes), size (uvarint) and CRC-32C (uvarint
// length + bytes). It carries what tar-split's JSON packer carries without
// base64 and reflection, which makes import and export several times
// cheaper on layers of many small files.

// ErrCorrupt reports a malformed record.
var ErrCorrupt = errors.New("corrupt tar-split record")

// maxSplitField bounds one field of the record when reading it back.
const maxSplitField = 64 << 20

// Packer writes a record: it is a tar-split storage.Packer.
type Packer struct {
	w    *bufio.Writer
	pos  int
	seed maphash.Seed
	seen map[uint64]struct{} // hashes of the cleaned file names, for duplicates
	buf  [binary.MaxVarintLen64]byte
}

// NewPacker returns a Packer writing to w; call Flush at the end.
func NewPacker(w io.Writer) *Packer {
	return &Packer{w: bufio.NewWriterSize(w, 256<<10), seed: maphash.MakeSeed(), seen: map[uint64]struct{}{}}
}

func (p *Packer) uvarint(v uint64) {
	n := binary.PutUvarint(p.buf[:], v)
	p.w.Write(p.buf[:n])
}

func (p *Packer) bytes(b []byte) {
	p.uvarint(uint64(len(b)))
	p.w.Write(b)
}

// AddEntry appends one entry; a second file entry with the same cleaned
// name fails with storage.ErrDuplicatePath, as tar-split's packer does.
func (p *Packer) AddEntry(e storage.Entry) (int, error) {
	switch e.Type {
	case storage.SegmentType:
		p.w.WriteByte(byte(storage.SegmentType))
		p.bytes(e.Payload)
	case storage.FileType:
		name := e.GetNameBytes()
		clean := maphash.String(p.seed, filepath.Clean(string(name)))
		if _, ok := p.seen[clean]; ok {
			return -1, storage.ErrDuplicatePath
		}
		p.seen[clean] = struct{}{}
		p.w.WriteByte(byte(storage.FileType))
		p.bytes(name)
		p.uvarint(uint64(e.Size))
		p.bytes(e.Payload)
	default:
		return -1, fmt.Errorf("tar-split entry type %d", e.Type)
	}
	e.Position = p.pos
	p.pos++
	return e.Position, nil
}

// Flush writes buffered entries out.
func (p *Packer) Flush() error { return p.w.Flush() }

// Unpacker reads a record back.
type Unpacker struct {
	r   *bufio.Reader
	pos int
}

// NewUnpacker returns an Unpacker reading from r.
func NewUnpacker(r io.Reader) *Unpacker {
	return &Unpacker{r: bufio.NewReaderSize(r, 256<<10)}
}

func (u *Unpacker) field() ([]byte, error) {
	n, err := binary.ReadUvarint(u.r)
	if err != nil {
		return nil, err
	}
	if n > maxSplitField {
		return nil, fmt.Errorf("tar-split field of %d bytes: %w", n, ErrCorrupt)
	}
	if n <= 64<<10 {
		b := make([]byte, n)
		_, err = io.ReadFull(u.r, b)
		return b, err
	}
	// A large field is read as it arrives, so that a short record that
	// claims a large field cannot make the reader allocate the claim.
	var buf bytes.Buffer
	m, err := io.CopyN(&buf, u.r, int64(n))
	if err == nil && m != int64(n) {
		err = io.ErrUnexpectedEOF
	}
	return buf.Bytes(), err
}

// Next returns the next entry, io.EOF at the end, and an error wrapping
// ErrCorrupt for a malformed record.
func (u *Unpacker) Next() (*storage.Entry, error) {
	t, err := u.r.ReadByte()
	if err != nil {
		return nil, err
	}
	e := &storage.Entry{Type: storage.Type(t), Position: u.pos}
	u.pos++
	switch e.Type {
	case storage.SegmentType:
		e.Payload, err = u.field()
	case storage.FileType:
		var name []byte
		if name, err = u.field(); err != nil {
			break
		}
		e.SetNameBytes(name)
		var size uint64
		if size, err = binary.ReadUvarint(u.r); err != nil {
			break
		}
		e.Size = int64(size)
		e.Payload, err = u.field()
	default:
		return nil, fmt.Errorf("tar-split entry type %d: %w", t, ErrCorrupt)
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("tar-split entry %d: %w: %w", e.Position, err, ErrCorrupt)
	}
	return e, nil
}
