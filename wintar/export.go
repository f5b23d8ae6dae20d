package wintar

import (
	"archive/tar"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/winlayer/winlayer/backupstream"
)

// MaxMetadataSize bounds the security descriptor, EA and reparse streams
// read into memory while exporting (Windows keeps each under 64 KiB; Go's
// tar reader refuses PAX headers over 1 MiB).
const MaxMetadataSize = 1 << 20

// WriteTarFileFromBackupStream writes one file to tw from its backup stream
// r, as go-winio's function of that name: a header from
// [BasicInfoHeader] completed by the metadata streams (security
// descriptor → MSWINDOWS.rawsd, EAs → MSWINDOWS.xattr.*, reparse point →
// symlink), the content of the data stream (or of its sparse blocks, holes
// filled with zeros), then one tar entry per alternate data stream after the
// data.
//
// When r is an io.Seeker whose Seek(0, io.SeekCurrent) succeeds, the stream
// is read twice, so metadata streams after the data still reach the header;
// otherwise the header is written at the first data stream and EAs after it
// are lost (go-winio's single-pass behaviour, kept for byte compatibility).
// name is a Windows or slash name; size is the file's logical size and must
// equal the data stream's size. Errors name the file as go-winio does
// ("Files/a.txt: ..."); on error the tar written so far is unusable.
func WriteTarFileFromBackupStream(tw *tar.Writer, r io.Reader, name string, size int64, info *backupstream.FileBasicInfo) error {
	name = ToSlash(name)
	hdr := BasicInfoHeader(name, size, info)

	var restart int64
	sr, twoPass := r.(io.Seeker)
	if twoPass {
		var err error
		if restart, err = sr.Seek(0, io.SeekCurrent); err != nil {
			twoPass = false
		}
	}

	br := backupstream.NewReader(r)
	var data *backupstream.Header
	for data == nil {
		bh, err := br.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		switch bh.ID {
		case backupstream.StreamData:
			hdr.Mode |= modeRegular
			if !twoPass {
				data = bh
			}
		case backupstream.StreamSecurity:
			sd, err := readMetadata(br, bh, name)
			if err != nil {
				return err
			}
			hdr.PAXRecords[PAXRawSD] = base64.StdEncoding.EncodeToString(sd)
		case backupstream.StreamReparseData:
			hdr.Mode |= modeSymlink
			hdr.Typeflag = tar.TypeSymlink
			// go-winio ignores read errors here and decodes what it got.
			b, err := readMetadata(br, bh, name)
			if errors.Is(err, ErrTooLarge) {
				return err
			}
			rp, err := backupstream.DecodeReparsePoint(b)
			if err != nil {
				return err
			}
			if rp.IsMountPoint {
				hdr.PAXRecords[PAXMountPoint] = "1"
			}
			hdr.Linkname = rp.Target
		case backupstream.StreamEAData:
			b, err := readMetadata(br, bh, name)
			if err != nil {
				return err
			}
			eas, err := backupstream.DecodeEAs(b)
			if err != nil {
				return err
			}
			for _, ea := range eas {
				hdr.PAXRecords[PAXEAPrefix+ea.Name] = base64.StdEncoding.EncodeToString(ea.Value)
			}
		case backupstream.StreamAlternateData, backupstream.StreamLink, backupstream.StreamPropertyData,
			backupstream.StreamObjectID, backupstream.StreamTxfsData, backupstream.StreamSparseBlock:
			// No header effect.
		default:
			return fmt.Errorf("%s: unknown stream ID %d", name, uint32(bh.ID))
		}
	}

	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}

	if twoPass {
		if _, err := sr.Seek(restart, io.SeekStart); err != nil {
			return err
		}
		br = backupstream.NewReader(r)
		for data == nil {
			bh, err := br.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			if bh.ID == backupstream.StreamData {
				data = bh
			}
		}
	}

	if data != nil {
		if data.Size > 0 || data.Attributes&backupstream.AttrSparse == 0 {
			if size != data.Size {
				return fmt.Errorf("%s: mismatch between file size %d and header size %d", name, size, data.Size)
			}
			if _, err := io.Copy(tw, br); err != nil {
				return fmt.Errorf("%s: copying contents from data stream: %w", name, err)
			}
		} else if size > 0 {
			if err := copySparse(tw, br); err != nil {
				return fmt.Errorf("%s: copying contents from sparse block stream: %w", name, err)
			}
		}
	}

	for {
		bh, err := br.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch bh.ID {
		case backupstream.StreamAlternateData:
			if bh.Attributes&backupstream.AttrSparse != 0 {
				return fmt.Errorf("%s: tar of sparse alternate data streams is unsupported", name)
			}
			ahdr := &tar.Header{
				Format:     hdr.Format,
				Name:       name + strings.TrimSuffix(bh.Name, ":$DATA"),
				Mode:       hdr.Mode,
				Typeflag:   tar.TypeReg,
				Size:       bh.Size,
				ModTime:    hdr.ModTime,
				AccessTime: hdr.AccessTime,
				ChangeTime: hdr.ChangeTime,
			}
			if err := tw.WriteHeader(ahdr); err != nil {
				return err
			}
			if _, err := io.Copy(tw, br); err != nil {
				return err
			}
		case backupstream.StreamEAData, backupstream.StreamLink, backupstream.StreamPropertyData,
			backupstream.StreamObjectID, backupstream.StreamTxfsData, backupstream.StreamSparseBlock:
			// Skipped after the data.
		default:
			return fmt.Errorf("%s: unknown stream ID %d after data", name, uint32(bh.ID))
		}
	}
}

// readMetadata reads a whole metadata payload, refusing sizes over
// MaxMetadataSize before allocating.
func readMetadata(br *backupstream.Reader, bh *backupstream.Header, name string) ([]byte, error) {
	if bh.Size > MaxMetadataSize {
		return nil, fmt.Errorf("%s: %s stream of %d bytes: %w", name, bh.ID, bh.Size, ErrTooLarge)
	}
	b := make([]byte, bh.Size)
	n, err := io.ReadFull(br, b)
	if err == io.EOF && bh.Size == 0 {
		err = nil
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return b[:n], err
}

// zeros is a shared block of zero bytes for filling sparse holes.
var zeros = make([]byte, 64<<10)

// copySparse writes the sparse blocks that follow a sparse data stream,
// filling the holes between them with zeros, up to the terminating
// zero-size block.
func copySparse(tw *tar.Writer, br *backupstream.Reader) error {
	var cur int64
	for {
		bh, err := br.Next()
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return err
		}
		if bh.ID != backupstream.StreamSparseBlock {
			return fmt.Errorf("unexpected stream %d", uint32(bh.ID))
		}
		if bh.Offset < cur {
			return fmt.Errorf("cannot seek back from %d to %d", cur, bh.Offset)
		}
		for gap := bh.Offset - cur; gap > 0; {
			n := int64(len(zeros))
			if gap < n {
				n = gap
			}
			if _, err := tw.Write(zeros[:n]); err != nil {
				return fmt.Errorf("seek to offset %d: %w", bh.Offset, err)
			}
			gap -= n
		}
		if bh.Size == 0 {
			return nil
		}
		n, err := io.Copy(tw, br)
		if err != nil {
			return err
		}
		if n != bh.Size {
			return fmt.Errorf("copied %d bytes instead of %d at offset %d", n, bh.Size, bh.Offset)
		}
		cur = bh.Offset + n
	}
}

// WriteWhiteout writes the whiteout entry that deletes the Windows name: a
// header carrying only its name, "<dir>/.wh.<base>", which archive/tar
// writes as a USTAR regular file of size 0.
func WriteWhiteout(tw *tar.Writer, winName string) error {
	return tw.WriteHeader(&tar.Header{Name: WhiteoutName(winName)})
}

// WriteHardLink writes a hard link entry as hcsshim's exporter does: the
// [BasicInfoHeader] of the link with size 0, mode 0644, typeflag '1' and
// the target's tar name as link name. No security descriptor, EAs or data.
func WriteHardLink(tw *tar.Writer, winName, winTarget string, info *backupstream.FileBasicInfo) error {
	if info == nil {
		info = &backupstream.FileBasicInfo{}
	}
	hdr := BasicInfoHeader(winName, 0, info)
	hdr.Mode = 0o644
	hdr.Typeflag = tar.TypeLink
	hdr.Linkname = ToSlash(winTarget)
	return tw.WriteHeader(hdr)
}
