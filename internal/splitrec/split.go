package splitrec

import (
	"archive/tar"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"

	tstar "github.com/vbatts/tar-split/archive/tar"
	"github.com/vbatts/tar-split/tar/storage"
)

// Splitter reads a layer tar once, with tar-split's tar reader, and both
// records its disassembly (the raw header, padding and trailer bytes as
// segments, each payload as a name, size and CRC-32C) and hands the
// headers and payloads to the import loop. It records exactly the entries
// tar-split's own disassembler records, in the same order, so that
// tar-split's assembler reproduces the tar byte for byte — without the
// second parse and the goroutine handoff of asm.NewInputTarStream.
type Splitter struct {
	src   io.Reader
	tr    *tstar.Reader
	p     storage.Packer
	crc   hash.Hash32
	cur   *storage.Entry
	typ   byte
	err   error
	drain [4096]byte
}

// crcTable is CRC-32C (Castagnoli), which CPUs compute in hardware: the
// payload checksum of winlayer's tar-split record (tar-split's own JSON
// record uses CRC-64/ISO, several times slower in software).
var crcTable = crc32.MakeTable(crc32.Castagnoli)

// NewCRC returns the hash of a payload's checksum in the record: CRC-32C.
func NewCRC() hash.Hash32 { return crc32.New(crcTable) }

// ErrUnkeptContent reports tar content on an entry whose type cannot keep
// any (a whiteout, directory or link) and which the import loop left
// unread: it could not be served back at export.
var ErrUnkeptContent = errors.New("content on an entry that cannot keep it")

// NewSplitter returns a Splitter reading the tar src and recording its
// disassembly to p.
func NewSplitter(src io.Reader, p storage.Packer) *Splitter {
	tr := tstar.NewReader(src)
	tr.RawAccounting = true
	return &Splitter{src: src, tr: tr, p: p, crc: crc32.New(crcTable)}
}

func (s *Splitter) segment(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	_, err := s.p.AddEntry(storage.Entry{Type: storage.SegmentType, Payload: b})
	return err
}

// finish records the current entry. The import loop reads every payload
// it keeps; a payload it leaves unread (content on a whiteout, directory
// or link) could not be served back at export, so it is an error.
func (s *Splitter) finish() error {
	if s.cur == nil {
		return nil
	}
	e := s.cur
	s.cur = nil
	n, err := io.CopyBuffer(s.crc, s.tr, s.drain[:])
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("entry %q: %d bytes of content on a type %q entry, which a layer cannot keep: %w", e.GetName(), n, s.typ, ErrUnkeptContent)
	}
	if e.Size > 0 {
		e.Payload = s.crc.Sum(nil)
	}
	if _, err := s.p.AddEntry(*e); err != nil {
		return fmt.Errorf("entry %q: %w", e.GetName(), err)
	}
	return s.segment(s.tr.RawBytes())
}

// Next records what the previous entry left and returns the next header,
// converted to archive/tar's type.
func (s *Splitter) Next() (*tar.Header, error) {
	if s.err != nil {
		return nil, s.err
	}
	h, err := s.next()
	if err != nil {
		s.err = err
	}
	return h, err
}

func (s *Splitter) next() (*tar.Header, error) {
	if err := s.finish(); err != nil {
		return nil, err
	}
	h, err := s.tr.Next()
	if errors.Is(err, io.EOF) {
		// The trailer, then whatever padding follows it.
		if err := s.segment(s.tr.RawBytes()); err != nil {
			return nil, err
		}
		buf := make([]byte, 64<<10)
		for {
			n, rerr := s.src.Read(buf)
			if n > 0 {
				if err := s.segment(buf[:n]); err != nil {
					return nil, err
				}
			}
			if rerr == io.EOF {
				return nil, io.EOF
			}
			if rerr != nil {
				return nil, rerr
			}
		}
	}
	if err != nil {
		return nil, err
	}
	if err := s.segment(s.tr.RawBytes()); err != nil {
		return nil, err
	}
	e := &storage.Entry{Type: storage.FileType, Size: h.Size}
	e.SetName(h.Name)
	s.cur, s.typ = e, h.Typeflag
	s.crc.Reset()
	return &tar.Header{
		Typeflag: h.Typeflag, Name: h.Name, Linkname: h.Linkname, Size: h.Size, Mode: h.Mode,
		Uid: h.Uid, Gid: h.Gid, Uname: h.Uname, Gname: h.Gname,
		ModTime: h.ModTime, AccessTime: h.AccessTime, ChangeTime: h.ChangeTime,
		Devmajor: h.Devmajor, Devminor: h.Devminor, PAXRecords: h.PAXRecords,
		Format: tar.Format(h.Format),
	}, nil
}

// Read reads the current entry's payload.
func (s *Splitter) Read(p []byte) (int, error) {
	n, err := s.tr.Read(p)
	s.crc.Write(p[:n])
	return n, err
}
