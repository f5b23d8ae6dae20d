package records

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/winlayer/winlayer/backupstream"
	"github.com/winlayer/winlayer/sddl"
)

// Ops of a record.
const (
	OpAdd    = "add"
	OpRemove = "remove"
	OpLink   = "link"
	OpEnd    = "end"
	OpError  = "error"
)

// Record is one line of a records file. Which fields are set depends on Op
// (see testdata/README.md). FILETIMEs are uint64 and exceed 2^53.
type Record struct {
	Seq          int       `json:"seq"`
	Op           string    `json:"op"`
	Entries      []Entry   `json:"entries,omitempty"`
	Name         string    `json:"name,omitempty"`
	WinName      string    `json:"win_name,omitempty"`
	WinTarget    string    `json:"win_target,omitempty"`
	Size         *int64    `json:"size,omitempty"`
	FileInfo     *FileInfo `json:"file_info,omitempty"`
	BCDBackup    string    `json:"bcd_backup,omitempty"`
	Seekable     *bool     `json:"seekable,omitempty"`
	StreamB64    *string   `json:"stream_b64,omitempty"`
	StreamHex    string    `json:"stream_hex,omitempty"`
	StreamLen    *int64    `json:"stream_len,omitempty"`
	StreamSHA256 string    `json:"stream_sha256,omitempty"`
	Streams      []Stream  `json:"streams,omitempty"`
	TotalSize    *int64    `json:"total_size,omitempty"`
	EntryCount   *int      `json:"entry_count,omitempty"`
	Error        string    `json:"error,omitempty"`
	Record       *int      `json:"record,omitempty"`
}

// FT is a FILETIME with its RFC 3339 reading; FT is authoritative.
type FT struct {
	FT   uint64 `json:"ft"`
	Time string `json:"time,omitempty"`
}

// FileInfo is a FILE_BASIC_INFO in record form.
type FileInfo struct {
	CreationTime   FT       `json:"creation_time"`
	LastAccessTime FT       `json:"last_access_time"`
	LastWriteTime  FT       `json:"last_write_time"`
	ChangeTime     FT       `json:"change_time"`
	FileAttributes uint32   `json:"file_attributes"`
	AttributeNames []string `json:"attribute_names,omitempty"`
}

// Stream is one part of a backup stream.
type Stream struct {
	ID         uint32   `json:"id"`
	IDName     string   `json:"id_name,omitempty"`
	Attributes uint32   `json:"attributes"`
	Size       int64    `json:"size"`
	Name       string   `json:"name,omitempty"`
	Offset     int64    `json:"offset,omitempty"`
	DataB64    string   `json:"data_b64"`
	DataHex    string   `json:"data_hex,omitempty"`
	EAs        []EA     `json:"eas,omitempty"`
	Reparse    *Reparse `json:"reparse,omitempty"`
	SDDL       string   `json:"sddl,omitempty"`
	Decode     string   `json:"decode_error,omitempty"`
}

// EA is a decoded extended attribute.
type EA struct {
	Name     string `json:"name"`
	Flags    uint8  `json:"flags"`
	ValueB64 string `json:"value_b64"`
}

// Reparse is a decoded reparse point.
type Reparse struct {
	Target       string `json:"target"`
	IsMountPoint bool   `json:"is_mount_point"`
	IsLxSymlink  bool   `json:"is_lx_symlink"`
	Tag          string `json:"tag"`
}

// Entry is one raw tar header a record consumed.
type Entry struct {
	Index      int               `json:"index"`
	Name       string            `json:"name"`
	Typeflag   string            `json:"typeflag"`
	Mode       string            `json:"mode"`
	Size       int64             `json:"size"`
	Linkname   string            `json:"linkname,omitempty"`
	UID        int               `json:"uid"`
	GID        int               `json:"gid"`
	Uname      string            `json:"uname,omitempty"`
	Gname      string            `json:"gname,omitempty"`
	Mtime      string            `json:"mtime,omitempty"`
	Atime      string            `json:"atime,omitempty"`
	Ctime      string            `json:"ctime,omitempty"`
	Format     string            `json:"format"`
	PAX        map[string]string `json:"pax,omitempty"`
	DataLen    int64             `json:"data_len"`
	DataSHA256 string            `json:"data_sha256,omitempty"`
}

func ft(f backupstream.Filetime) FT {
	return FT{FT: uint64(f), Time: f.Time().Format(time.RFC3339Nano)}
}

// NewFileInfo converts a FILE_BASIC_INFO to record form.
func NewFileInfo(fi *backupstream.FileBasicInfo) *FileInfo {
	return &FileInfo{
		CreationTime:   ft(fi.CreationTime),
		LastAccessTime: ft(fi.LastAccessTime),
		LastWriteTime:  ft(fi.LastWriteTime),
		ChangeTime:     ft(fi.ChangeTime),
		FileAttributes: fi.FileAttributes,
		AttributeNames: backupstream.AttributeNames(fi.FileAttributes),
	}
}

// Basic converts the record form back to a FILE_BASIC_INFO.
func (fi *FileInfo) Basic() *backupstream.FileBasicInfo {
	return &backupstream.FileBasicInfo{
		CreationTime:   backupstream.Filetime(fi.CreationTime.FT),
		LastAccessTime: backupstream.Filetime(fi.LastAccessTime.FT),
		LastWriteTime:  backupstream.Filetime(fi.LastWriteTime.FT),
		ChangeTime:     backupstream.Filetime(fi.ChangeTime.FT),
		FileAttributes: fi.FileAttributes,
	}
}

// DecodeStreams splits a backup stream into its parts, decoding EAs,
// reparse points and security descriptors for reading. Parts after a
// malformed header are not returned; the error says why.
func DecodeStreams(b []byte, withHex bool) ([]Stream, error) {
	r := backupstream.NewReader(bytes.NewReader(b))
	var out []Stream
	for {
		h, err := r.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
		start := r.Offset()
		end := start + h.Size
		if end > int64(len(b)) || end < start {
			end = int64(len(b))
		}
		data := b[start:end]
		s := Stream{ID: uint32(h.ID), Attributes: h.Attributes, Size: h.Size, Name: h.Name, Offset: h.Offset,
			DataB64: base64.StdEncoding.EncodeToString(data)}
		if h.ID.Known() {
			s.IDName = h.ID.String()
		}
		if withHex {
			s.DataHex = hex.EncodeToString(data)
		}
		switch h.ID {
		case backupstream.StreamEAData:
			eas, err := backupstream.DecodeEAs(data)
			if err != nil {
				s.Decode = err.Error()
			}
			for _, ea := range eas {
				s.EAs = append(s.EAs, EA{Name: ea.Name, Flags: ea.Flags, ValueB64: base64.StdEncoding.EncodeToString(ea.Value)})
			}
		case backupstream.StreamReparseData:
			rp, err := backupstream.DecodeReparsePoint(data)
			if err != nil {
				s.Decode = err.Error()
			} else {
				tag, _ := backupstream.ReparseTag(data)
				s.Reparse = &Reparse{Target: rp.Target, IsMountPoint: rp.IsMountPoint, IsLxSymlink: rp.IsLxSymlink, Tag: fmt.Sprintf("0x%08X", tag)}
			}
		case backupstream.StreamSecurity:
			if str, err := sddl.Format(data); err == nil {
				s.SDDL = str
			} else {
				s.Decode = err.Error()
			}
		}
		out = append(out, s)
		if end-start < h.Size {
			return out, fmt.Errorf("stream %s: %d of %d bytes present", h.ID, end-start, h.Size)
		}
	}
}

// EncodeStreams builds a backup stream from parts: id, attributes, name,
// offset (sparse blocks) and data; each part's size is its data's length.
func EncodeStreams(parts []Stream) ([]byte, error) {
	var buf bytes.Buffer
	w := backupstream.NewWriter(&buf)
	for i, p := range parts {
		data, err := base64.StdEncoding.DecodeString(p.DataB64)
		if err != nil {
			return nil, fmt.Errorf("stream %d: data_b64: %w", i, err)
		}
		if err := w.WriteHeader(&backupstream.Header{ID: backupstream.StreamID(p.ID), Attributes: p.Attributes,
			Size: int64(len(data)), Name: p.Name, Offset: p.Offset}); err != nil {
			return nil, fmt.Errorf("stream %d: %w", i, err)
		}
		if _, err := w.Write(data); err != nil {
			return nil, fmt.Errorf("stream %d: %w", i, err)
		}
	}
	return buf.Bytes(), nil
}
