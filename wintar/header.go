package wintar

import (
	"archive/tar"
	"errors"
	"strconv"
	"time"

	"github.com/winlayer/winlayer/backupstream"
)

// FileInfoFromHeader returns the Windows name, size and basic information
// of a tar entry, as go-winio's FileInfoFromHeader: the name unchanged,
// the size only for regular files, the times from the header (wrapping
// outside 1678–2262 as UnixNano does), the creation time from
// LIBARCHIVE.creationtime or else the modification time, and the attributes
// from MSWINDOWS.fileattr or else DIRECTORY for directories. A malformed
// fileattr or creation time gives a *[PAXError] naming the record, whose
// cause is go-winio's (strconv's error; tar.ErrHeader).
func FileInfoFromHeader(hdr *tar.Header) (name string, size int64, info *backupstream.FileBasicInfo, err error) {
	name = hdr.Name
	if hdr.Typeflag == tar.TypeReg {
		size = hdr.Size
	}
	mtime := backupstream.FiletimeFromTime(hdr.ModTime)
	info = &backupstream.FileBasicInfo{
		LastAccessTime: backupstream.FiletimeFromTime(hdr.AccessTime),
		LastWriteTime:  mtime,
		ChangeTime:     backupstream.FiletimeFromTime(hdr.ChangeTime),
		CreationTime:   mtime,
	}
	if s, ok := hdr.PAXRecords[PAXFileAttr]; ok {
		a, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			reason := "not a decimal number"
			if errors.Is(err, strconv.ErrRange) {
				reason = "out of range (attributes are 32 bits: at most 4294967295)"
			}
			return "", 0, nil, &PAXError{Key: PAXFileAttr, Value: s, Reason: reason, Err: err}
		}
		info.FileAttributes = uint32(a)
	} else if hdr.Typeflag == tar.TypeDir {
		info.FileAttributes = backupstream.AttrDirectory
	}
	if s, ok := hdr.PAXRecords[PAXCreationTime]; ok {
		t, err := ParsePAXTime(s)
		if err != nil {
			return "", 0, nil, &PAXError{Key: PAXCreationTime, Value: s,
				Reason: "not a PAX time (decimal seconds since 1970, optionally with a fraction: 1682942400.5)", Err: err}
		}
		info.CreationTime = backupstream.FiletimeFromTime(t)
	}
	return name, size, info, nil
}

// BasicInfoHeader returns the PAX header skeleton go-winio builds for a
// file: the name in slash form, the size, the three Unix times converted
// from the FILETIMEs, MSWINDOWS.fileattr and LIBARCHIVE.creationtime, mode
// 0 (040000 and size 0 for directories). info must not be nil.
func BasicInfoHeader(name string, size int64, info *backupstream.FileBasicInfo) *tar.Header {
	hdr := &tar.Header{
		Format:     tar.FormatPAX,
		Name:       ToSlash(name),
		Size:       size,
		Typeflag:   tar.TypeReg,
		ModTime:    time.Unix(0, info.LastWriteTime.Nanoseconds()),
		ChangeTime: time.Unix(0, info.ChangeTime.Nanoseconds()),
		AccessTime: time.Unix(0, info.LastAccessTime.Nanoseconds()),
		PAXRecords: map[string]string{
			PAXFileAttr:     strconv.FormatUint(uint64(info.FileAttributes), 10),
			PAXCreationTime: FormatPAXTime(time.Unix(0, info.CreationTime.Nanoseconds())),
		},
	}
	if info.FileAttributes&backupstream.AttrDirectory != 0 {
		hdr.Mode |= modeDir
		hdr.Size = 0
		hdr.Typeflag = tar.TypeDir
	}
	return hdr
}
