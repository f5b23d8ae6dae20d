package wintar

import (
	"archive/tar"
	"encoding/base64"
	"io"
	"sort"
	"strings"

	"github.com/winlayer/winlayer/backupstream"
	"github.com/winlayer/winlayer/sddl"
)

// TarReader is the part of *tar.Reader the import side uses: Next to
// advance to the next header, Read for the current entry's content. A
// wrapper can observe every header and byte (winlayer records dump does).
type TarReader interface {
	io.Reader
	Next() (*tar.Header, error)
}

// SecurityDescriptorFromHeader returns the security descriptor of a tar
// entry: MSWINDOWS.rawsd base64-decoded as is (not validated), else
// MSWINDOWS.sd compiled from SDDL, else nil. An empty result means the
// entry has no security stream. A malformed value gives a *[PAXError]
// naming the record.
func SecurityDescriptorFromHeader(hdr *tar.Header) ([]byte, error) {
	if raw, ok := hdr.PAXRecords[PAXRawSD]; ok {
		sd, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			return nil, &PAXError{Key: PAXRawSD, Value: raw, Reason: "not base64 (" + err.Error() + ")", Err: err}
		}
		return sd, nil
	}
	if s, ok := hdr.PAXRecords[PAXSD]; ok {
		sd, err := sddl.Compile(s)
		if err != nil {
			return nil, &PAXError{Key: PAXSD, Value: s, Reason: "not SDDL: " + sddlReason(err), Err: err}
		}
		return sd, nil
	}
	return nil, nil
}

// EAsFromHeader returns the extended attributes of a tar entry, one per
// MSWINDOWS.xattr.<name> record, sorted by name (go-winio's order is Go
// map order, i.e. random; sorting makes the output deterministic).
func EAsFromHeader(hdr *tar.Header) ([]backupstream.EA, error) {
	var keys []string
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, PAXEAPrefix) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	sort.Strings(keys)
	eas := make([]backupstream.EA, 0, len(keys))
	for _, k := range keys {
		v, err := base64.StdEncoding.DecodeString(hdr.PAXRecords[k])
		if err != nil {
			return nil, &PAXError{Key: k, Value: hdr.PAXRecords[k], Reason: "not base64 (" + err.Error() + ")", Err: err}
		}
		eas = append(eas, backupstream.EA{Name: k[len(PAXEAPrefix):], Value: v})
	}
	return eas, nil
}

// ReparsePointFromHeader returns the reparse point of a symlink entry: the
// link name with '/' turned into '\', a mount point when the entry carries
// MSWINDOWS.mountpoint (any value).
func ReparsePointFromHeader(hdr *tar.Header) *backupstream.ReparsePoint {
	_, mp := hdr.PAXRecords[PAXMountPoint]
	return &backupstream.ReparsePoint{Target: ToWindows(hdr.Linkname), IsMountPoint: mp}
}

// WriteBackupStreamFromTarFile writes the backup stream of the tar entry
// hdr (whose content t is positioned at) to w, in go-winio's order:
// security descriptor, EAs, reparse point (symlinks), data (regular files,
// even when empty), then one alternate data stream per following regular
// entry named hdr.Name + ":" + stream. It returns the first header that is
// not such a stream, or io.EOF at the end of the tar. Errors carry
// go-winio's texts (base64, EA size limits, tar read errors); content
// shorter than its header's Size (which *tar.Reader never delivers, but
// another TarReader might) fails with [backupstream.ErrMissingBytes]
// instead of leaving a short stream.
func WriteBackupStreamFromTarFile(w io.Writer, t TarReader, hdr *tar.Header) (*tar.Header, error) {
	bw := backupstream.NewWriter(w)
	sd, err := SecurityDescriptorFromHeader(hdr)
	if err != nil {
		return nil, err
	}
	if len(sd) != 0 {
		if err := writeStream(bw, backupstream.StreamSecurity, "", sd); err != nil {
			return nil, err
		}
	}
	eas, err := EAsFromHeader(hdr)
	if err != nil {
		return nil, err
	}
	if len(eas) != 0 {
		b, err := backupstream.EncodeEAs(eas)
		if err != nil {
			return nil, err
		}
		if err := writeStream(bw, backupstream.StreamEAData, "", b); err != nil {
			return nil, err
		}
	}
	if hdr.Typeflag == tar.TypeSymlink {
		rp := ReparsePointFromHeader(hdr)
		if !backupstream.ReparseTargetFits(rp.Target) {
			return nil, ErrReparseTargetTooLong
		}
		if err := writeStream(bw, backupstream.StreamReparseData, "", backupstream.EncodeReparsePoint(rp)); err != nil {
			return nil, err
		}
	}
	if hdr.Typeflag == tar.TypeReg {
		if err := bw.WriteHeader(&backupstream.Header{ID: backupstream.StreamData, Size: hdr.Size}); err != nil {
			return nil, err
		}
		if _, err := io.Copy(bw, t); err != nil {
			return nil, err
		}
	}
	for {
		ahdr, err := t.Next()
		if err != nil && err != io.EOF {
			return nil, err
		}
		if err == io.EOF || ahdr.Typeflag != tar.TypeReg || !strings.HasPrefix(ahdr.Name, hdr.Name+":") {
			// A TarReader whose entry held fewer bytes than its header
			// said would otherwise leave a short stream behind.
			if cerr := bw.Close(); cerr != nil {
				return nil, cerr
			}
			return ahdr, err
		}
		if err := bw.WriteHeader(&backupstream.Header{
			ID:   backupstream.StreamAlternateData,
			Size: ahdr.Size,
			Name: ahdr.Name[len(hdr.Name):] + ":$DATA",
		}); err != nil {
			return nil, err
		}
		if _, err := io.Copy(bw, t); err != nil {
			return nil, err
		}
	}
}

func writeStream(bw *backupstream.Writer, id backupstream.StreamID, name string, payload []byte) error {
	if err := bw.WriteHeader(&backupstream.Header{ID: id, Size: int64(len(payload)), Name: name}); err != nil {
		return err
	}
	_, err := bw.Write(payload)
	return err
}

// sddlReason is an sddl error's text without the package prefix and the
// ErrInvalid suffix, which the record key already implies.
func sddlReason(err error) string {
	return strings.TrimSuffix(strings.TrimPrefix(err.Error(), "sddl: "), ": "+sddl.ErrInvalid.Error())
}
