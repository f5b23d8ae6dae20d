package layer

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/maphash"
	"io"
	"os"
	"path/filepath"

	"github.com/vbatts/tar-split/tar/storage"
)

// The tar-split record of a layer (.winlayer/tar-split.bin.gz) holds the
// entries of tar-split's disassembly in a compact binary form, gzipped:
// per entry a type byte (1 file, 2 segment), then for a segment its
// length (uvarint) and raw bytes (headers, padding, trailer); for a file
// its name (uvarint length + bytes), size (uvarint) and CRC-32C (uvarint
// length + bytes). It carries what tar-split's JSON packer carries without
// base64 and reflection, which makes import and export several times
// cheaper on layers of many small files.

// maxSplitField bounds one field of the record when reading it back.
const maxSplitField = 64 << 20

type binPacker struct {
	w    *bufio.Writer
	pos  int
	seed maphash.Seed
	seen map[uint64]struct{} // hashes of the cleaned file names, for duplicates
	buf  [binary.MaxVarintLen64]byte
}

func newBinPacker(w io.Writer) *binPacker {
	return &binPacker{w: bufio.NewWriterSize(w, 256<<10), seed: maphash.MakeSeed(), seen: map[uint64]struct{}{}}
}

func (p *binPacker) uvarint(v uint64) {
	n := binary.PutUvarint(p.buf[:], v)
	p.w.Write(p.buf[:n])
}

func (p *binPacker) bytes(b []byte) {
	p.uvarint(uint64(len(b)))
	p.w.Write(b)
}

// AddEntry appends one entry; a second file entry with the same cleaned
// name fails with storage.ErrDuplicatePath, as tar-split's packer does.
func (p *binPacker) AddEntry(e storage.Entry) (int, error) {
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
func (p *binPacker) Flush() error { return p.w.Flush() }

type binUnpacker struct {
	r   *bufio.Reader
	pos int
}

func newBinUnpacker(r io.Reader) *binUnpacker {
	return &binUnpacker{r: bufio.NewReaderSize(r, 256<<10)}
}

func (u *binUnpacker) field() ([]byte, error) {
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
func (u *binUnpacker) Next() (*storage.Entry, error) {
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

// assemble writes the tar a tar-split record describes: segments verbatim,
// each payload from the getter, exactly its recorded size, checked against
// its recorded CRC-32C (a changed or truncated file fails the export with
// an error naming it). With verifyFirst a payload is checked before any
// of its bytes are written (see [VerifyBeforeWrite]).
func assemble(w io.Writer, u *binUnpacker, g *FileGetter, verifyFirst bool) error {
	buf := make([]byte, 256<<10)
	crc := crc32.New(crcTable)
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
			if e.Size <= maxHeldPayload {
				if int64(cap(held)) < e.Size {
					held = make([]byte, 0, min(max(2*int64(cap(held)), e.Size), maxHeldPayload))
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

// maxHeldPayload is the largest payload a verifying export holds in
// memory; larger ones are read twice.
const maxHeldPayload = 8 << 20

// copyPayload copies payload name of record entry e to w and checks its
// size and CRC-32C.
func copyPayload(w io.Writer, g *FileGetter, name string, e *storage.Entry, crc hash.Hash32, buf []byte) error {
	f, err := g.Get(name)
	if err != nil {
		return err
	}
	crc.Reset()
	var pr io.ReadCloser = io.NopCloser(io.LimitReader(f, e.Size))
	if of, ok := f.(*os.File); ok {
		pr = payloadReader(of, e.Size)
	}
	n, err := io.CopyBuffer(io.MultiWriter(w, crc), pr, buf)
	pr.Close()
	f.Close()
	if err != nil {
		return fmt.Errorf("payload of %q: %w", name, err)
	}
	if n != e.Size {
		return fmt.Errorf("payload of %q: %d bytes, recorded %d: %w", name, n, e.Size, ErrCorrupt)
	}
	if !bytes.Equal(crc.Sum(nil), e.Payload) {
		return fmt.Errorf("file integrity checksum failed for %q: %w", name, ErrCorrupt)
	}
	return nil
}
