package wintar_test

import (
	"archive/tar"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/winlayer/winlayer/backupstream"
	"github.com/winlayer/winlayer/wintar"
)

// missingTime is what go-winio stores for a zero time.Time: UnixNano of
// year 1 wraps (spec §3.1).
const missingTime backupstream.Filetime = 48491090211286549

func TestFileInfoFromHeader(t *testing.T) {
	mtime := time.Unix(1682944497, 123456700)
	atime := time.Unix(1682944498, 0)
	ctime := time.Unix(1682944499, 500)
	for _, tc := range []struct {
		name     string
		hdr      tar.Header
		wantSize int64
		want     backupstream.FileBasicInfo
	}{
		{
			name:     "regular file: times, attributes, size",
			hdr:      tar.Header{Name: "Files/a.txt", Typeflag: tar.TypeReg, Size: 10, ModTime: mtime, AccessTime: atime, ChangeTime: ctime, PAXRecords: map[string]string{wintar.PAXFileAttr: "32"}},
			wantSize: 10,
			want:     backupstream.FileBasicInfo{CreationTime: ftOf(1682944497, 123456700), LastWriteTime: ftOf(1682944497, 123456700), LastAccessTime: ftOf(1682944498, 0), ChangeTime: ftOf(1682944499, 500), FileAttributes: 32},
		},
		{
			name:     "creation time from LIBARCHIVE.creationtime",
			hdr:      tar.Header{Name: "Files/a.txt", Typeflag: tar.TypeReg, ModTime: mtime, AccessTime: atime, ChangeTime: ctime, PAXRecords: map[string]string{wintar.PAXCreationTime: "-1.5"}},
			wantSize: 0,
			want:     backupstream.FileBasicInfo{CreationTime: 116444735985000000, LastWriteTime: ftOf(1682944497, 123456700), LastAccessTime: ftOf(1682944498, 0), ChangeTime: ftOf(1682944499, 500)},
		},
		{
			name: "creation time truncated below 100 ns",
			hdr:  tar.Header{Name: "Files/a.txt", Typeflag: tar.TypeReg, ModTime: mtime, AccessTime: atime, ChangeTime: ctime, PAXRecords: map[string]string{wintar.PAXCreationTime: "1600000000.123456789987"}},
			want: backupstream.FileBasicInfo{CreationTime: 132444736001234567, LastWriteTime: ftOf(1682944497, 123456700), LastAccessTime: ftOf(1682944498, 0), ChangeTime: ftOf(1682944499, 500)},
		},
		{
			name: "USTAR entry: missing atime and ctime wrap",
			hdr:  tar.Header{Name: "Files/plain.txt", Typeflag: tar.TypeReg, Size: 3, ModTime: time.Unix(1682944497, 0)},
			// no fileattr, not a directory: attributes 0
			wantSize: 3,
			want:     backupstream.FileBasicInfo{CreationTime: ftOf(1682944497, 0), LastWriteTime: ftOf(1682944497, 0), LastAccessTime: missingTime, ChangeTime: missingTime},
		},
		{
			name: "no times at all",
			hdr:  tar.Header{Name: "pax_global_header", Typeflag: tar.TypeXGlobalHeader},
			want: backupstream.FileBasicInfo{CreationTime: missingTime, LastWriteTime: missingTime, LastAccessTime: missingTime, ChangeTime: missingTime},
		},
		{
			name: "directory without fileattr gets DIRECTORY",
			hdr:  tar.Header{Name: "Files/d", Typeflag: tar.TypeDir, ModTime: mtime, AccessTime: atime, ChangeTime: ctime},
			want: backupstream.FileBasicInfo{CreationTime: ftOf(1682944497, 123456700), LastWriteTime: ftOf(1682944497, 123456700), LastAccessTime: ftOf(1682944498, 0), ChangeTime: ftOf(1682944499, 500), FileAttributes: 16},
		},
		{
			name: "directory with fileattr 0 keeps 0",
			hdr:  tar.Header{Name: "Files/d", Typeflag: tar.TypeDir, ModTime: mtime, AccessTime: atime, ChangeTime: ctime, PAXRecords: map[string]string{wintar.PAXFileAttr: "0"}},
			want: backupstream.FileBasicInfo{CreationTime: ftOf(1682944497, 123456700), LastWriteTime: ftOf(1682944497, 123456700), LastAccessTime: ftOf(1682944498, 0), ChangeTime: ftOf(1682944499, 500)},
		},
		{
			name:     "directory: size is 0 whatever the header says",
			hdr:      tar.Header{Name: "Files/d", Typeflag: tar.TypeDir, Size: 99, ModTime: mtime, AccessTime: atime, ChangeTime: ctime, PAXRecords: map[string]string{wintar.PAXFileAttr: "0016"}},
			wantSize: 0,
			want:     backupstream.FileBasicInfo{CreationTime: ftOf(1682944497, 123456700), LastWriteTime: ftOf(1682944497, 123456700), LastAccessTime: ftOf(1682944498, 0), ChangeTime: ftOf(1682944499, 500), FileAttributes: 16},
		},
		{
			name:     "symlink: size 0, no DIRECTORY default",
			hdr:      tar.Header{Name: "Files/l", Typeflag: tar.TypeSymlink, Size: 5, ModTime: mtime, AccessTime: atime, ChangeTime: ctime},
			wantSize: 0,
			want:     backupstream.FileBasicInfo{CreationTime: ftOf(1682944497, 123456700), LastWriteTime: ftOf(1682944497, 123456700), LastAccessTime: ftOf(1682944498, 0), ChangeTime: ftOf(1682944499, 500)},
		},
		{
			name: "max fileattr",
			hdr:  tar.Header{Name: "Files/a", Typeflag: tar.TypeReg, ModTime: mtime, AccessTime: atime, ChangeTime: ctime, PAXRecords: map[string]string{wintar.PAXFileAttr: "4294967295"}},
			want: backupstream.FileBasicInfo{CreationTime: ftOf(1682944497, 123456700), LastWriteTime: ftOf(1682944497, 123456700), LastAccessTime: ftOf(1682944498, 0), ChangeTime: ftOf(1682944499, 500), FileAttributes: 0xffffffff},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name, size, info, err := wintar.FileInfoFromHeader(&tc.hdr)
			if err != nil {
				t.Fatal(err)
			}
			if name != tc.hdr.Name {
				t.Errorf("name %q, want %q unchanged", name, tc.hdr.Name)
			}
			if size != tc.wantSize {
				t.Errorf("size %d, want %d", size, tc.wantSize)
			}
			if *info != tc.want {
				t.Errorf("info\n got %+v\nwant %+v", *info, tc.want)
			}
		})
	}
}

func TestFileInfoFromHeaderErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		pax      map[string]string
		wantText string
		wantIs   error
	}{
		{"hex fileattr", map[string]string{wintar.PAXFileAttr: "0x20"}, `strconv.ParseUint: parsing "0x20": invalid syntax`, strconv.ErrSyntax},
		{"negative fileattr", map[string]string{wintar.PAXFileAttr: "-1"}, `strconv.ParseUint: parsing "-1": invalid syntax`, strconv.ErrSyntax},
		{"plus fileattr", map[string]string{wintar.PAXFileAttr: "+1"}, `strconv.ParseUint: parsing "+1": invalid syntax`, strconv.ErrSyntax},
		{"space in fileattr", map[string]string{wintar.PAXFileAttr: " 1"}, `strconv.ParseUint: parsing " 1": invalid syntax`, strconv.ErrSyntax},
		{"empty fileattr", map[string]string{wintar.PAXFileAttr: ""}, `strconv.ParseUint: parsing "": invalid syntax`, strconv.ErrSyntax},
		{"fileattr overflow", map[string]string{wintar.PAXFileAttr: "4294967296"}, `strconv.ParseUint: parsing "4294967296": value out of range`, strconv.ErrRange},
		{"junk creation time", map[string]string{wintar.PAXCreationTime: "12.3x"}, "archive/tar: invalid tar header", tar.ErrHeader},
		{"empty creation time", map[string]string{wintar.PAXCreationTime: ""}, "archive/tar: invalid tar header", tar.ErrHeader},
		{"fileattr checked before creation time", map[string]string{wintar.PAXFileAttr: "x", wintar.PAXCreationTime: "x"}, `strconv.ParseUint: parsing "x": invalid syntax`, strconv.ErrSyntax},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := &tar.Header{Name: "Files/a.txt", Typeflag: tar.TypeReg, PAXRecords: tc.pax}
			name, size, info, err := wintar.FileInfoFromHeader(hdr)
			if err == nil {
				t.Fatalf("no error; got %q %d %+v", name, size, info)
			}
			if !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v is not %v", err, tc.wantIs)
			}
			// The cause keeps go-winio's text (the record dumps compare it).
			var pe *wintar.PAXError
			if !errors.As(err, &pe) || pe.Err.Error() != tc.wantText {
				t.Errorf("error %q: cause is not go-winio's %q", err, tc.wantText)
			}
			if info != nil {
				t.Errorf("info %+v returned with an error", info)
			}
		})
	}
}

func TestBasicInfoHeader(t *testing.T) {
	info := backupstream.FileBasicInfo{
		CreationTime:   ftOf(1600000000, 123456700),
		LastAccessTime: ftOf(1682944498, 0),
		LastWriteTime:  ftOf(1682944497, 100),
		ChangeTime:     ftOf(-2, 500000000),
	}
	for _, tc := range []struct {
		name    string
		winName string
		size    int64
		attrs   uint32
		zeroCT  bool                  // creation time FILETIME 0
		backCT  backupstream.Filetime // creation time read back, when not the original
		want    tar.Header
	}{
		{
			name: "file", winName: `Files\dir\a.txt`, size: 42, attrs: backupstream.AttrArchive,
			want: tar.Header{Name: "Files/dir/a.txt", Size: 42, Typeflag: tar.TypeReg, Mode: 0,
				PAXRecords: map[string]string{wintar.PAXFileAttr: "32", wintar.PAXCreationTime: "1600000000.1234567"}},
		},
		{
			name: "directory: mode 040000, type 5, size forced to 0", winName: `Files\dir`, size: 4096, attrs: backupstream.AttrDirectory | backupstream.AttrReadOnly,
			want: tar.Header{Name: "Files/dir", Size: 0, Typeflag: tar.TypeDir, Mode: 0o40000,
				PAXRecords: map[string]string{wintar.PAXFileAttr: "17", wintar.PAXCreationTime: "1600000000.1234567"}},
		},
		{
			name: "root with trailing backslash kept as slash", winName: `Files\`, attrs: backupstream.AttrDirectory,
			want: tar.Header{Name: "Files/", Typeflag: tar.TypeDir, Mode: 0o40000,
				PAXRecords: map[string]string{wintar.PAXFileAttr: "16", wintar.PAXCreationTime: "1600000000.1234567"}},
		},
		{
			name: "slash names pass through, attributes 0 still written", winName: "Hives/System_Delta", size: 1,
			want: tar.Header{Name: "Hives/System_Delta", Size: 1, Typeflag: tar.TypeReg,
				PAXRecords: map[string]string{wintar.PAXFileAttr: "0", wintar.PAXCreationTime: "1600000000.1234567"}},
		},
		{
			name: "FILETIME 0 creation time wraps to 2185", winName: `Files\z`, zeroCT: true, backCT: 184467440737095516,
			want: tar.Header{Name: "Files/z", Typeflag: tar.TypeReg,
				PAXRecords: map[string]string{wintar.PAXFileAttr: "0", wintar.PAXCreationTime: "6802270473.709551616"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := info
			in.FileAttributes = tc.attrs
			if tc.zeroCT {
				in.CreationTime = 0
			}
			h := wintar.BasicInfoHeader(tc.winName, tc.size, &in)
			if h.Format != tar.FormatPAX {
				t.Errorf("format %v, want PAX", h.Format)
			}
			if h.Name != tc.want.Name || h.Size != tc.want.Size || h.Typeflag != tc.want.Typeflag || h.Mode != tc.want.Mode {
				t.Errorf("name %q size %d type %q mode %o, want %q %d %q %o", h.Name, h.Size, h.Typeflag, h.Mode,
					tc.want.Name, tc.want.Size, tc.want.Typeflag, tc.want.Mode)
			}
			if !h.ModTime.Equal(time.Unix(1682944497, 100)) || !h.AccessTime.Equal(time.Unix(1682944498, 0)) || !h.ChangeTime.Equal(time.Unix(-2, 500000000)) {
				t.Errorf("times m=%v a=%v c=%v", h.ModTime, h.AccessTime, h.ChangeTime)
			}
			if len(h.PAXRecords) != len(tc.want.PAXRecords) {
				t.Errorf("PAX records %v, want %v", h.PAXRecords, tc.want.PAXRecords)
			}
			for k, v := range tc.want.PAXRecords {
				if h.PAXRecords[k] != v {
					t.Errorf("PAX %s = %q, want %q", k, h.PAXRecords[k], v)
				}
			}
			if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" || h.Linkname != "" {
				t.Errorf("owner or link fields set: %+v", h)
			}
			// FileInfoFromHeader reads back what BasicInfoHeader wrote
			// (all but FILETIME 0, which wraps: spec §9).
			_, _, back, err := wintar.FileInfoFromHeader(h)
			if err != nil {
				t.Fatal(err)
			}
			if tc.zeroCT {
				in.CreationTime = tc.backCT
			}
			if *back != in {
				t.Errorf("FileInfoFromHeader(BasicInfoHeader(info))\n got %+v\nwant %+v", *back, in)
			}
		})
	}
}

// TestPAXErrorText: a malformed Windows PAX record is reported by its key
// and value, in words a user can act on, with no Go function or package
// names.
func TestPAXErrorText(t *testing.T) {
	for _, tc := range []struct {
		pax  map[string]string
		want string
	}{
		{map[string]string{wintar.PAXFileAttr: "junk"}, `MSWINDOWS.fileattr "junk": not a decimal number`},
		{map[string]string{wintar.PAXFileAttr: "-1"}, `MSWINDOWS.fileattr "-1": not a decimal number`},
		{map[string]string{wintar.PAXFileAttr: "4294967296"}, `MSWINDOWS.fileattr "4294967296": out of range (attributes are 32 bits: at most 4294967295)`},
		{map[string]string{wintar.PAXCreationTime: "12.3x"}, `LIBARCHIVE.creationtime "12.3x": not a PAX time (decimal seconds since 1970, optionally with a fraction: 1682942400.5)`},
	} {
		t.Run(tc.want, func(t *testing.T) {
			_, _, _, err := wintar.FileInfoFromHeader(&tar.Header{Name: "Files/a", Typeflag: tar.TypeReg, PAXRecords: tc.pax})
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error %q, want %q", err, tc.want)
			}
			if !errors.Is(err, wintar.ErrInvalidPAX) {
				t.Errorf("error %v is not ErrInvalidPAX", err)
			}
		})
	}
}
