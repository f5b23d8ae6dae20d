package layer

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/winlayer/winlayer/backupstream"
	"github.com/winlayer/winlayer/internal/directio"
	"github.com/winlayer/winlayer/wintar"
)

// maxRecordSize bounds the payload of one record, far beyond any file and
// low enough that offsets and sizes added up cannot overflow.
const maxRecordSize = 1 << 62

// entryStream takes the backup stream of the entry being added: its
// decoder (backupstream owns the format) calls it for each record, and it
// puts data in the entry's file, alternate data streams in the store's
// stream area and the security descriptor, EAs and reparse point in the
// entry. It is the [backupstream.Handler] of the Writer.
type entryStream struct {
	w       *Writer
	dec     backupstream.Decoder
	h       *backupstream.Header // the current record
	pos     int64                // write position in f (sparse blocks)
	meta    []byte               // the payload of a metadata record
	f       directio.File        // data file of the entry (kept open across records)
	ads     *os.File             // current alternate data stream file
	bcd     *os.File             // the BCD backup copy of the data
	created bool                 // f was created
}

// reset starts the stream of a new entry, keeping the buffers.
func (s *entryStream) reset(w *Writer) {
	s.w, s.h, s.pos, s.meta, s.created = w, nil, 0, s.meta[:0], false
	s.dec.Reset(s)
}

// decodeErr names the entry in an error of the decoder: its own
// (a corrupt header) are invalid entries; the handler's are kept.
func (s *entryStream) decodeErr(err error) error {
	if errors.Is(err, backupstream.ErrCorrupt) || errors.Is(err, backupstream.ErrTooLarge) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%q: backup stream: %w: %w", s.w.cur.Name, err, ErrInvalidEntry)
	}
	return err
}

// closeFiles closes the files of the entry, truncating its data (and BCD
// copy) to the entry's size where the data is sparse or copied.
func (s *entryStream) closeFiles(e *Entry) error {
	var err error
	if s.f != nil {
		if e.Sparse != nil || e.DataAttr&backupstream.AttrSparse != 0 {
			err = s.f.Truncate(e.Size)
		}
		if cerr := s.f.Close(); err == nil {
			err = cerr
		}
		s.f = nil
	}
	if s.bcd != nil {
		if terr := s.bcd.Truncate(e.Size); err == nil {
			err = terr
		}
		if cerr := s.bcd.Close(); err == nil {
			err = cerr
		}
		s.bcd = nil
	}
	return err
}

// abort closes whatever files are open.
func (s *entryStream) abort() {
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
	for _, f := range []*os.File{s.ads, s.bcd} {
		if f != nil {
			f.Close()
		}
	}
	s.ads, s.bcd = nil, nil
}

// Header opens the destination of the record h.
func (s *entryStream) Header(h *backupstream.Header) error {
	w, e := s.w, s.w.cur
	s.h, s.pos = h, 0
	if h.Size > maxRecordSize {
		return invalid(e.Name, "%s record of %d bytes: corrupt backup stream header", h.ID, h.Size)
	}
	switch h.ID {
	case backupstream.StreamData:
		if e.Kind == KindDir {
			return invalid(e.Name, "directory with a data stream")
		}
		if e.Data {
			return invalid(e.Name, "two data streams")
		}
		e.Data, e.DataAttr, e.Size = true, h.Attributes, h.Size
		if err := w.space.claim(e.Name, h.Size); err != nil {
			return err
		}
		return s.createData()
	case backupstream.StreamSparseBlock:
		if !e.Data || e.DataAttr&backupstream.AttrSparse == 0 {
			return invalid(e.Name, "sparse block without a sparse data stream")
		}
		if h.Offset < 0 || h.Offset > 1<<50 {
			return invalid(e.Name, "sparse block at offset %d", h.Offset)
		}
		s.pos = h.Offset
		if h.Size > 0 {
			e.Sparse = append(e.Sparse, [2]int64{h.Offset, h.Size})
		}
		if err := w.space.claim(e.Name, h.Size); err != nil {
			return err
		}
		return w.growSparse(h.Offset + h.Size)
	case backupstream.StreamSecurity, backupstream.StreamEAData, backupstream.StreamReparseData:
		if h.Size > wintar.MaxMetadataSize {
			return invalid(e.Name, "%s stream of %d bytes is over the %d-byte limit", h.ID, h.Size, wintar.MaxMetadataSize)
		}
		s.meta = s.meta[:0]
	case backupstream.StreamAlternateData:
		return s.createADS(h)
	case backupstream.StreamLink, backupstream.StreamPropertyData, backupstream.StreamObjectID, backupstream.StreamTxfsData:
		// Not kept: the exporter ignores these streams.
	default:
		return invalid(e.Name, "unknown backup stream id %d", uint32(h.ID))
	}
	return nil
}

// createADS checks the name of an alternate data stream and creates its file.
func (s *entryStream) createADS(h *backupstream.Header) error {
	w, e := s.w, s.w.cur
	sn := h.Name
	bare := strings.TrimSuffix(strings.TrimPrefix(sn, ":"), ":$DATA")
	if !strings.HasPrefix(sn, ":") || bare == "" || strings.ContainsAny(bare, "/\\:\x00") {
		return invalid(e.Name, "bad alternate data stream name %q", sn)
	}
	if err := checkStreamName(sn); err != nil {
		return invalid(e.Name, "alternate data stream %q: %v", sn, err)
	}
	for _, a := range e.ADS {
		if wintar.EqualFoldNTFS(a.Name, sn) {
			return invalid(e.Name, "duplicate alternate data stream %q", sn)
		}
	}
	if err := w.space.claim(e.Name+sn, h.Size); err != nil {
		return err
	}
	f, n, err := w.idx.createADS()
	if err != nil {
		return err
	}
	s.ads = f
	e.ADS = append(e.ADS, ADS{Name: sn, Attributes: h.Attributes, Size: h.Size, File: n})
	return nil
}

// createData creates the entry's data file (through the sink for a plain
// file) and, for a BCD file, its backup copy.
func (s *entryStream) createData() error {
	w, e := s.w, s.w.cur
	var f directio.File
	var err error
	if e.BCDBackup == "" && e.DataAttr&backupstream.AttrSparse == 0 {
		if w.sink == nil {
			w.sink = directio.NewSink()
		}
		f, err = w.sink.Create(w.path(e.Name), s.h.Size)
	} else {
		f, err = directio.CreateExcl(w.path(e.Name))
	}
	if err != nil {
		return err
	}
	s.f, s.created = f, true
	if e.BCDBackup != "" {
		if s.bcd, err = os.OpenFile(filepath.Join(w.Dir(), e.BCDBackup), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Payload writes the next bytes of the current record to its destination.
func (s *entryStream) Payload(p []byte) error {
	switch s.h.ID {
	case backupstream.StreamData:
		if _, err := s.f.Write(p); err != nil {
			return err
		}
		if s.bcd != nil {
			if _, err := s.bcd.Write(p); err != nil {
				return err
			}
		}
	case backupstream.StreamSparseBlock:
		if _, err := s.f.WriteAt(p, s.pos); err != nil {
			return err
		}
		if s.bcd != nil {
			if _, err := s.bcd.WriteAt(p, s.pos); err != nil {
				return err
			}
		}
		s.pos += int64(len(p))
	case backupstream.StreamSecurity, backupstream.StreamEAData, backupstream.StreamReparseData:
		s.meta = append(s.meta, p...)
	case backupstream.StreamAlternateData:
		if _, err := s.ads.Write(p); err != nil {
			return err
		}
	}
	return nil
}

// End keeps what a metadata record held and closes an alternate data
// stream's file.
func (s *entryStream) End() error {
	e := s.w.cur
	switch s.h.ID {
	case backupstream.StreamSecurity:
		if len(s.meta) > 0 {
			e.SD = s.w.idx.sd(s.meta)
		}
	case backupstream.StreamEAData:
		if _, err := backupstream.DecodeEAs(s.meta); err != nil {
			return invalid(e.Name, "EA stream: %v", err)
		}
		e.EA = append([]byte(nil), s.meta...)
	case backupstream.StreamReparseData:
		e.Reparse = append([]byte(nil), s.meta...)
	case backupstream.StreamAlternateData:
		err := s.ads.Close()
		s.ads = nil
		return err
	}
	return nil
}

// readFrom moves the rest of the current data record from r straight into
// the data file when the file can take it (see directio.ReaderFromN). ok reports
// whether it could; then n bytes were moved and err is r's error (the
// Writer stays usable) unless failed, when the error is the Writer's own.
func (s *entryStream) readFrom(r io.Reader) (n int64, ok, failed bool, err error) {
	bd, isBuffered := s.f.(directio.ReaderFromN)
	if !isBuffered || s.bcd != nil {
		return 0, false, false, nil
	}
	h, left := s.dec.Payload()
	if h == nil || h.ID != backupstream.StreamData || left == 0 {
		return 0, false, false, nil
	}
	if faultsOn() {
		r = faultReader{r}
	}
	n, failed, err = bd.ReadFromN(r, left)
	if failed {
		return n, true, true, err
	}
	if derr := s.dec.Delivered(n); derr != nil {
		return n, true, true, derr
	}
	return n, true, false, err
}
