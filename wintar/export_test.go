package wintar_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/winlayer/winlayer/backupstream"
	"github.com/winlayer/winlayer/wintar"
)

var fileInfo = backupstream.FileBasicInfo{
	CreationTime:   ftOf(1600000000, 0),
	LastAccessTime: ftOf(1682944498, 0),
	LastWriteTime:  ftOf(1682944497, 500),
	ChangeTime:     ftOf(1682944499, 0),
	FileAttributes: backupstream.AttrArchive,
}

var dirInfo = func() backupstream.FileBasicInfo {
	fi := fileInfo
	fi.FileAttributes = backupstream.AttrDirectory
	return fi
}()

// readModes are the three kinds of stream reader the exporter can get.
var readModes = []struct {
	name     string
	seekable bool
	wrap     func([]byte) io.Reader
}{
	{"seekable", true, func(b []byte) io.Reader { return bytes.NewReader(b) }},
	{"non-seekable", false, func(b []byte) io.Reader { return onlyReader{bytes.NewReader(b)} }},
	{"failing seeker", false, func(b []byte) io.Reader { return brokenSeeker{bytes.NewReader(b)} }},
}

// export runs WriteTarFileFromBackupStream on one stream and returns the
// entries of the resulting tar, the export error and the tar Close error.
func export(t *testing.T, r io.Reader, name string, size int64, info backupstream.FileBasicInfo) ([]tarEntry, []byte, error, error) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := wintar.WriteTarFileFromBackupStream(tw, r, name, size, &info)
	if err != nil {
		return nil, nil, err, nil
	}
	cerr := tw.Close()
	if cerr != nil {
		return nil, nil, nil, cerr
	}
	entries, rerr := readTar(buf.Bytes())
	if rerr != nil {
		t.Fatalf("the exported tar does not read back: %v", rerr)
	}
	return entries, buf.Bytes(), nil, nil
}

func TestWriteTarFileFromBackupStream(t *testing.T) {
	sd := "SD-bytes"
	eas := func(kv ...string) string {
		var list []backupstream.EA
		for i := 0; i < len(kv); i += 2 {
			list = append(list, backupstream.EA{Name: kv[i], Value: []byte(kv[i+1])})
		}
		b, err := backupstream.EncodeEAs(list)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	sym := string(backupstream.EncodeReparsePoint(&backupstream.ReparsePoint{Target: `C:\Windows\System32\cmd.exe`}))
	junction := string(backupstream.EncodeReparsePoint(&backupstream.ReparsePoint{Target: `C:\ProgramData`, IsMountPoint: true}))
	lx := string(backupstream.EncodeReparsePoint(&backupstream.ReparsePoint{Target: "../bin/sh", IsLxSymlink: true}))

	type want struct {
		names    []string          // entry names
		typeflag byte              // of the first entry
		mode     int64             // of the first entry
		linkname string            // of the first entry
		pax      map[string]string // records the first entry must have ("" value: must be absent)
		content  []string          // per entry
	}
	for _, tc := range []struct {
		name   string
		parts  []part
		size   int64
		info   backupstream.FileBasicInfo
		want   want // both modes
		single *want
	}{
		{
			name:  "file with SD, EA, data and two ADS",
			parts: []part{{id: backupstream.StreamSecurity, data: sd}, {id: backupstream.StreamEAData, data: eas("A", "1", "B", "2")}, {id: backupstream.StreamData, data: "hello"}, {id: backupstream.StreamAlternateData, name: ":Zone.Identifier:$DATA", data: "zone"}, {id: backupstream.StreamAlternateData, name: ":two", data: "2"}},
			size:  5, info: fileInfo,
			want: want{names: []string{"Files/a.txt", "Files/a.txt:Zone.Identifier", "Files/a.txt:two"}, typeflag: tar.TypeReg, mode: 0o100000,
				pax:     map[string]string{wintar.PAXRawSD: b64(sd), wintar.PAXEAPrefix + "A": b64("1"), wintar.PAXEAPrefix + "B": b64("2"), wintar.PAXFileAttr: "32", wintar.PAXCreationTime: "1600000000"},
				content: []string{"hello", "zone", "2"}},
		},
		{
			name:  "EA after data: kept only when seekable",
			parts: []part{{id: backupstream.StreamData, data: "x"}, {id: backupstream.StreamEAData, data: eas("LATE", "v")}},
			size:  1, info: fileInfo,
			want:   want{names: []string{"Files/a.txt"}, typeflag: tar.TypeReg, mode: 0o100000, pax: map[string]string{wintar.PAXEAPrefix + "LATE": b64("v")}, content: []string{"x"}},
			single: &want{names: []string{"Files/a.txt"}, typeflag: tar.TypeReg, mode: 0o100000, pax: map[string]string{wintar.PAXEAPrefix + "LATE": ""}, content: []string{"x"}},
		},
		{
			name:  "ADS before data dropped",
			parts: []part{{id: backupstream.StreamAlternateData, name: ":early:$DATA", data: "e"}, {id: backupstream.StreamData, data: "x"}, {id: backupstream.StreamAlternateData, name: ":late:$DATA", data: "l"}},
			size:  1, info: fileInfo,
			want: want{names: []string{"Files/a.txt", "Files/a.txt:late"}, typeflag: tar.TypeReg, mode: 0o100000, content: []string{"x", "l"}},
		},
		{
			name:  "ADS of a directory dropped",
			parts: []part{{id: backupstream.StreamSecurity, data: sd}, {id: backupstream.StreamAlternateData, name: ":meta:$DATA", data: "m"}},
			info:  dirInfo,
			want:  want{names: []string{"Files/a.txt"}, typeflag: tar.TypeDir, mode: 0o40000, pax: map[string]string{wintar.PAXRawSD: b64(sd), wintar.PAXFileAttr: "16"}, content: []string{""}},
		},
		{
			name:  "ignored kinds before and after data; sparse block before data ignored",
			parts: []part{{id: backupstream.StreamObjectID, data: "oid"}, {id: backupstream.StreamSparseBlock, offset: 3, data: "zz"}, {id: backupstream.StreamData, data: "x"}, {id: backupstream.StreamLink, data: "l"}, {id: backupstream.StreamPropertyData, data: "p"}, {id: backupstream.StreamTxfsData, data: "t"}, {id: backupstream.StreamSparseBlock}},
			size:  1, info: fileInfo,
			want: want{names: []string{"Files/a.txt"}, typeflag: tar.TypeReg, mode: 0o100000, content: []string{"x"}},
		},
		{
			name:  "symlink: print name kept with backslashes",
			parts: []part{{id: backupstream.StreamReparseData, data: sym}},
			info:  backupstream.FileBasicInfo{FileAttributes: backupstream.AttrReparsePoint | backupstream.AttrArchive, LastWriteTime: fileInfo.LastWriteTime},
			want:  want{names: []string{"Files/a.txt"}, typeflag: tar.TypeSymlink, mode: 0o120000, linkname: `C:\Windows\System32\cmd.exe`, pax: map[string]string{wintar.PAXMountPoint: ""}, content: []string{""}},
		},
		{
			name:  "junction on a directory: mode 0160000",
			parts: []part{{id: backupstream.StreamReparseData, data: junction}},
			info:  backupstream.FileBasicInfo{FileAttributes: backupstream.AttrReparsePoint | backupstream.AttrDirectory},
			want:  want{names: []string{"Files/a.txt"}, typeflag: tar.TypeSymlink, mode: 0o160000, linkname: `C:\ProgramData`, pax: map[string]string{wintar.PAXMountPoint: "1"}, content: []string{""}},
		},
		{
			name:  "LX symlink becomes a plain symlink",
			parts: []part{{id: backupstream.StreamReparseData, data: lx}},
			info:  backupstream.FileBasicInfo{FileAttributes: backupstream.AttrReparsePoint},
			want:  want{names: []string{"Files/a.txt"}, typeflag: tar.TypeSymlink, mode: 0o120000, linkname: "../bin/sh", content: []string{""}},
		},
		{
			name: "no streams at all: mode 0",
			info: fileInfo,
			want: want{names: []string{"Files/a.txt"}, typeflag: tar.TypeReg, mode: 0, content: []string{""}},
		},
		{
			name:  "empty SD still written",
			parts: []part{{id: backupstream.StreamSecurity}, {id: backupstream.StreamData}},
			info:  fileInfo,
			want:  want{names: []string{"Files/a.txt"}, typeflag: tar.TypeReg, mode: 0o100000, pax: map[string]string{wintar.PAXRawSD: ""}, content: []string{""}},
		},
		{
			name:  "later SD overwrites",
			parts: []part{{id: backupstream.StreamSecurity, data: "one"}, {id: backupstream.StreamSecurity, data: "two"}, {id: backupstream.StreamData}},
			info:  fileInfo,
			want:  want{names: []string{"Files/a.txt"}, typeflag: tar.TypeReg, mode: 0o100000, pax: map[string]string{wintar.PAXRawSD: b64("two")}, content: []string{""}},
		},
	} {
		for _, m := range readModes {
			t.Run(tc.name+"/"+m.name, func(t *testing.T) {
				w := tc.want
				if !m.seekable && tc.single != nil {
					w = *tc.single
				}
				entries, _, err, cerr := export(t, m.wrap(streamOf(t, tc.parts...)), `Files\a.txt`, tc.size, tc.info)
				if err != nil || cerr != nil {
					t.Fatalf("export: %v, close: %v", err, cerr)
				}
				var names []string
				for _, e := range entries {
					names = append(names, e.hdr.Name)
				}
				if strings.Join(names, "|") != strings.Join(w.names, "|") {
					t.Fatalf("entries %q, want %q", names, w.names)
				}
				h := entries[0].hdr
				if h.Typeflag != w.typeflag || h.Mode != w.mode || h.Linkname != w.linkname {
					t.Errorf("type %q mode %o link %q, want %q %o %q", h.Typeflag, h.Mode, h.Linkname, w.typeflag, w.mode, w.linkname)
				}
				for k, v := range w.pax {
					got, ok := h.PAXRecords[k]
					if v == "" && k != wintar.PAXRawSD {
						if ok {
							t.Errorf("PAX %s = %q, want absent", k, got)
						}
					} else if !ok || got != v {
						t.Errorf("PAX %s = %q (%v), want %q", k, got, ok, v)
					}
				}
				for i, e := range entries {
					if string(e.data) != w.content[i] {
						t.Errorf("entry %s content %q, want %q", e.hdr.Name, e.data, w.content[i])
					}
					if i > 0 {
						// ADS entries: file's mode and times, no vendor records.
						if e.hdr.Mode != h.Mode || !e.hdr.ModTime.Equal(h.ModTime) || !e.hdr.AccessTime.Equal(h.AccessTime) || !e.hdr.ChangeTime.Equal(h.ChangeTime) {
							t.Errorf("ADS %s header %+v does not copy the file's mode and times", e.hdr.Name, e.hdr)
						}
						for k := range e.hdr.PAXRecords {
							if strings.HasPrefix(k, "MSWINDOWS.") || strings.HasPrefix(k, "LIBARCHIVE.") {
								t.Errorf("ADS %s carries %s", e.hdr.Name, k)
							}
						}
					}
				}
			})
		}
	}
}

func TestWriteTarFileFromBackupStreamErrors(t *testing.T) {
	data := func(s string) part { return part{id: backupstream.StreamData, data: s} }
	truncReparse := string(backupstream.EncodeReparsePoint(&backupstream.ReparsePoint{Target: "x"})[:6])
	wof := "\x17\x00\x00\x80\x00\x00\x00\x00"
	rp := string(backupstream.EncodeReparsePoint(&backupstream.ReparsePoint{Target: "t"}))
	for _, tc := range []struct {
		name   string
		stream []byte
		size   int64
		info   backupstream.FileBasicInfo
		want   string // both modes
		single string // non-seekable, when different
		is     error
	}{
		{name: "SD after data", stream: streamOf(t, data("x"), part{id: backupstream.StreamSecurity, data: "sd"}), size: 1, want: "Files/a.txt: unknown stream ID 3 after data"},
		{name: "reparse after empty data", stream: streamOf(t, data(""), part{id: backupstream.StreamReparseData, data: rp}), want: "Files/a.txt: unknown stream ID 8 after data"},
		// Seekable: pass 1 made the entry a symlink, which holds no content.
		{name: "reparse after data", stream: streamOf(t, data("x"), part{id: backupstream.StreamReparseData, data: rp}), size: 1, want: "Files/a.txt: copying contents from data stream: archive/tar: write too long", single: "Files/a.txt: unknown stream ID 8 after data"},
		{name: "second data stream", stream: streamOf(t, data("x"), data("y")), size: 1, want: "Files/a.txt: unknown stream ID 1 after data"},
		{name: "unknown id before data", stream: streamOf(t, part{id: 11}, data("x")), size: 1, want: "Files/a.txt: unknown stream ID 11"},
		{name: "unknown id 0", stream: streamOf(t, part{id: 0}), want: "Files/a.txt: unknown stream ID 0"},
		{name: "unknown id after data", stream: streamOf(t, data("x"), part{id: 42}), size: 1, want: "Files/a.txt: unknown stream ID 42", single: "Files/a.txt: unknown stream ID 42 after data"},
		{name: "size mismatch", stream: streamOf(t, data("abc")), size: 5, want: "Files/a.txt: mismatch between file size 5 and header size 3"},
		{name: "data but no size", stream: streamOf(t, data("abcd")), size: 0, want: "Files/a.txt: mismatch between file size 0 and header size 4"},
		{name: "truncated data", stream: append(rawHeader(backupstream.StreamData, 0, 10), "short"...), size: 10, want: "Files/a.txt: copying contents from data stream: unexpected EOF", is: io.ErrUnexpectedEOF},
		{name: "sparse ADS", stream: streamOf(t, data(""), part{id: backupstream.StreamAlternateData, attr: backupstream.AttrSparse, name: ":s:$DATA", data: "s"}), want: "Files/a.txt: tar of sparse alternate data streams is unsupported"},
		{name: "sparse missing terminator", stream: streamOf(t, part{id: backupstream.StreamData, attr: backupstream.AttrSparse}, part{id: backupstream.StreamSparseBlock, offset: 0, data: "ab"}), size: 10, want: "Files/a.txt: copying contents from sparse block stream: unexpected EOF", is: io.ErrUnexpectedEOF},
		{name: "sparse non-sparse block", stream: streamOf(t, part{id: backupstream.StreamData, attr: backupstream.AttrSparse}, part{id: backupstream.StreamEAData}), size: 10, want: "Files/a.txt: copying contents from sparse block stream: unexpected stream 2"},
		{name: "sparse seek back", stream: streamOf(t, part{id: backupstream.StreamData, attr: backupstream.AttrSparse}, part{id: backupstream.StreamSparseBlock, offset: 50, data: "late"}, part{id: backupstream.StreamSparseBlock, offset: 10, data: "early"}), size: 100, want: "Files/a.txt: copying contents from sparse block stream: cannot seek back from 54 to 10"},
		{name: "sparse negative offset", stream: streamOf(t, part{id: backupstream.StreamData, attr: backupstream.AttrSparse}, part{id: backupstream.StreamSparseBlock, offset: -1}), size: 100, want: "Files/a.txt: copying contents from sparse block stream: cannot seek back from 0 to -1"},
		{name: "sparse terminator past size", stream: streamOf(t, part{id: backupstream.StreamData, attr: backupstream.AttrSparse}, part{id: backupstream.StreamSparseBlock, offset: 1 << 40}), size: 10, want: "Files/a.txt: copying contents from sparse block stream: seek to offset 1099511627776: archive/tar: write too long", is: tar.ErrWriteTooLong},
		{name: "sparse block past size", stream: streamOf(t, part{id: backupstream.StreamData, attr: backupstream.AttrSparse}, part{id: backupstream.StreamSparseBlock, offset: 8, data: "abcd"}, part{id: backupstream.StreamSparseBlock, offset: 12}), size: 10, want: "Files/a.txt: copying contents from sparse block stream: archive/tar: write too long", is: tar.ErrWriteTooLong},
		{name: "unsupported reparse tag", stream: streamOf(t, part{id: backupstream.StreamReparseData, data: wof}), want: "unsupported reparse point 80000017"},
		{name: "truncated reparse", stream: streamOf(t, part{id: backupstream.StreamReparseData, data: truncReparse}), is: backupstream.ErrTruncatedReparse},
		{name: "bad EA buffer", stream: streamOf(t, part{id: backupstream.StreamEAData, data: "\x00\x00\x00\x00\x00\x05\x00\x00ab"}), want: "invalid extended attribute buffer", is: backupstream.ErrInvalidEABuffer},
		{name: "huge SD", stream: rawHeader(backupstream.StreamSecurity, 0, 1<<40), is: wintar.ErrTooLarge},
		{name: "huge EA", stream: rawHeader(backupstream.StreamEAData, 0, wintar.MaxMetadataSize+1), is: wintar.ErrTooLarge},
		{name: "huge reparse", stream: rawHeader(backupstream.StreamReparseData, 0, 1<<62), is: wintar.ErrTooLarge},
		{name: "truncated SD", stream: append(rawHeader(backupstream.StreamSecurity, 0, 10), "abc"...), is: io.ErrUnexpectedEOF},
		{name: "truncated header", stream: rawHeader(backupstream.StreamData, 0, 0)[:10], is: io.ErrUnexpectedEOF},
		{name: "odd name size", stream: func() []byte {
			b := rawHeader(backupstream.StreamAlternateData, 0, 0)
			b[16] = 3 // odd name size
			return append(b, "abc"...)
		}(), is: backupstream.ErrCorrupt},
	} {
		for _, m := range readModes {
			t.Run(tc.name+"/"+m.name, func(t *testing.T) {
				info := tc.info
				if info == (backupstream.FileBasicInfo{}) {
					info = fileInfo
				}
				_, _, err, _ := export(t, m.wrap(tc.stream), `Files\a.txt`, tc.size, info)
				if err == nil {
					t.Fatal("no error")
				}
				want := tc.want
				if !m.seekable && tc.single != "" {
					want = tc.single
				}
				if want != "" && err.Error() != want {
					t.Errorf("error %q, want %q", err, want)
				}
				if tc.is != nil && !errors.Is(err, tc.is) {
					t.Errorf("error %v is not %v", err, tc.is)
				}
			})
		}
	}
}

// TestWriteTarFileFromBackupStreamMissedBytes: a declared size with no
// data stream is not the exporter's error; closing the tar reports it.
func TestWriteTarFileFromBackupStreamMissedBytes(t *testing.T) {
	for _, m := range readModes {
		_, _, err, cerr := export(t, m.wrap(streamOf(t, part{id: backupstream.StreamSecurity, data: "sd"})), `Files\a.txt`, 4, fileInfo)
		if err != nil || cerr == nil || cerr.Error() != "archive/tar: missed writing 4 bytes" {
			t.Errorf("%s: export %v close %v, want close error missed writing 4 bytes", m.name, err, cerr)
		}
	}
}

// TestWriteTarFileFromBackupStreamSparse: the four representations of a
// sparse file (§5.5) give dense tar content with the holes zeroed.
func TestWriteTarFileFromBackupStreamSparse(t *testing.T) {
	sparse := backupstream.FileBasicInfo{FileAttributes: backupstream.AttrSparseFile | backupstream.AttrArchive, LastWriteTime: fileInfo.LastWriteTime}
	sd := part{id: backupstream.StreamData, attr: backupstream.AttrSparse}
	block := func(off int64, data string) part {
		return part{id: backupstream.StreamSparseBlock, attr: backupstream.AttrSparse, offset: off, data: data}
	}
	for _, tc := range []struct {
		name  string
		parts []part
		size  int64
		want  string
	}{
		{"size 0, no streams", nil, 0, ""},
		{"size 0, sparse data stream", []part{sd}, 0, ""},
		{"size 0, sparse data stream and zero block", []part{sd, block(0, "")}, 0, ""},
		{"no allocated ranges", []part{sd, block(4096, "")}, 4096, strings.Repeat("\x00", 4096)},
		{"one allocated range", []part{{id: backupstream.StreamData, attr: backupstream.AttrSparse, data: "all of it"}}, 9, "all of it"},
		{"several ranges", []part{sd, block(0, "head"), block(10, "mid"), block(100000, "tail"), block(100010, "")}, 100010,
			"head" + strings.Repeat("\x00", 6) + "mid" + strings.Repeat("\x00", 100000-13) + "tail" + strings.Repeat("\x00", 6)},
		{"adjacent ranges", []part{sd, block(0, "ab"), block(2, "cd"), block(4, "")}, 4, "abcd"},
		{"ranges then an ADS", []part{sd, block(1, "x"), block(3, ""), {id: backupstream.StreamAlternateData, name: ":s:$DATA", data: "ads"}}, 3, "\x00x\x00"},
	} {
		for _, m := range readModes {
			t.Run(tc.name+"/"+m.name, func(t *testing.T) {
				entries, tarBytes, err, cerr := export(t, m.wrap(streamOf(t, tc.parts...)), `Files\sparse.bin`, tc.size, sparse)
				if err != nil || cerr != nil {
					t.Fatalf("export %v close %v", err, cerr)
				}
				e := entries[0]
				if e.hdr.Typeflag != tar.TypeReg || e.hdr.Size != tc.size || string(e.data) != tc.want {
					t.Errorf("entry type %q size %d content %d bytes, want regular %d bytes", e.hdr.Typeflag, e.hdr.Size, len(e.data), len(tc.want))
				}
				if e.hdr.PAXRecords[wintar.PAXFileAttr] != "544" {
					t.Errorf("fileattr %q, want 544 (the sparse bit survives only there)", e.hdr.PAXRecords[wintar.PAXFileAttr])
				}
				if bytes.Contains(tarBytes, []byte("GNU.sparse")) {
					t.Error("the tar entry must be dense")
				}
				// Re-import: a plain data stream with the dense content.
				rec := &recorder{}
				if _, err := importTar(t, tarBytes, rec); err != nil {
					t.Fatal(err)
				}
				parts, err := parseStream(rec.calls[0].stream)
				if err != nil || parts[0].id != backupstream.StreamData || parts[0].attr != 0 || string(parts[0].data) != tc.want {
					t.Errorf("re-import: %v %v", ids(parts), err)
				}
			})
		}
	}
}

func TestWriteWhiteout(t *testing.T) {
	for _, tc := range []struct{ win, want string }{
		{`Files\dir\gone.txt`, "Files/dir/.wh.gone.txt"},
		{`Files\gone`, "Files/.wh.gone"},
		{`Files`, ".wh.Files"},
		{`Files\dir\.wh..opq`, "Files/dir/.wh..wh..opq"},
		{`Files\` + strings.Repeat("long", 40), "Files/.wh." + strings.Repeat("long", 40)},
	} {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		if err := wintar.WriteWhiteout(tw, tc.win); err != nil {
			t.Fatal(err)
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		entries, err := readTar(buf.Bytes())
		if err != nil || len(entries) != 1 {
			t.Fatalf("%s: %v %v", tc.win, entries, err)
		}
		h := entries[0].hdr
		if h.Name != tc.want || h.Typeflag != tar.TypeReg || h.Mode != 0 || h.Size != 0 || h.Uid != 0 || h.Gid != 0 ||
			h.Uname != "" || h.Gname != "" || !h.ModTime.Equal(time.Unix(0, 0)) || len(entries[0].data) != 0 {
			t.Errorf("%s: header %+v, want a bare %q", tc.win, h, tc.want)
		}
		if len(tc.want) <= 100 && h.Format != tar.FormatUSTAR {
			t.Errorf("%s: format %v, want USTAR", tc.win, h.Format)
		}
		// Import turns it back into Remove of the same name.
		rec := &recorder{}
		if _, err := importTar(t, buf.Bytes(), rec); err != nil || len(rec.calls) != 1 || rec.calls[0].op != "remove" || rec.calls[0].name != tc.win {
			t.Errorf("%s: re-import %v %v", tc.win, rec.calls, err)
		}
	}
}

func TestWriteHardLink(t *testing.T) {
	for _, info := range []*backupstream.FileBasicInfo{&fileInfo, nil} {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		if err := wintar.WriteHardLink(tw, `Files\link.txt`, `Files\hello.txt`, info); err != nil {
			t.Fatal(err)
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		entries, err := readTar(buf.Bytes())
		if err != nil || len(entries) != 1 {
			t.Fatalf("%v %v", entries, err)
		}
		h := entries[0].hdr
		if h.Name != "Files/link.txt" || h.Typeflag != tar.TypeLink || h.Mode != 0o644 || h.Linkname != "Files/hello.txt" || h.Size != 0 {
			t.Errorf("header %+v", h)
		}
		fi := backupstream.FileBasicInfo{}
		if info != nil {
			fi = *info
		}
		wantPAX := map[string]string{
			wintar.PAXFileAttr:     wintar.BasicInfoHeader("x", 0, &fi).PAXRecords[wintar.PAXFileAttr],
			wintar.PAXCreationTime: wintar.BasicInfoHeader("x", 0, &fi).PAXRecords[wintar.PAXCreationTime],
		}
		for k := range h.PAXRecords {
			if strings.HasPrefix(k, "MSWINDOWS.") || strings.HasPrefix(k, "LIBARCHIVE.") {
				if h.PAXRecords[k] != wantPAX[k] {
					t.Errorf("PAX %s = %q, want %q", k, h.PAXRecords[k], wantPAX[k])
				}
				delete(wantPAX, k)
			}
		}
		if len(wantPAX) != 0 {
			t.Errorf("missing PAX records %v", wantPAX)
		}
		rec := &recorder{}
		if _, err := importTar(t, buf.Bytes(), rec); err != nil || len(rec.calls) != 1 || rec.calls[0].String() != `link Files\link.txt -> Files\hello.txt` {
			t.Errorf("re-import %v %v", rec.calls, err)
		}
	}
}

func TestWhiteoutTarget(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		ok         bool
	}{
		{"Files/.wh.a", "Files/a", true},
		{"Files/dir/.wh.gone.txt", "Files/dir/gone.txt", true},
		{"Files/dir/.wh..wh..opq", "Files/dir/.wh..opq", true}, // opaque marker: not special
		{"Files/.wh.", "Files", true},
		{".wh.Files", "Files", true},
		{"Files/.wh.dir/", "Files/.wh.dir/dir", true}, // hcsshim: path.Base drops the slash, path.Dir does not
		{"Files/.wh...", ".", true},                   // cleaned: "Files/.."
		{"Files/a/.wh...", "Files", true},
		{"Files/a.wh.b", "", false},
		{"Files/.wh", "", false},
		{"Files/.WH.a", "", false},
		{"Files/.wh.a/b", "", false},
		{"Files", "", false},
	} {
		got, ok := wintar.WhiteoutTarget(tc.name)
		if got != tc.want || ok != tc.ok {
			t.Errorf("WhiteoutTarget(%q) = %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestNames(t *testing.T) {
	for _, tc := range []struct{ slash, win string }{
		{"Files/a/b.txt", `Files\a\b.txt`},
		{"Files/trailing/", `Files\trailing\`},
		{"Files/..", `Files\..`},
		{"", ""},
	} {
		if got := wintar.ToWindows(tc.slash); got != tc.win {
			t.Errorf("ToWindows(%q) = %q, want %q", tc.slash, got, tc.win)
		}
		if got := wintar.ToSlash(tc.win); got != tc.slash {
			t.Errorf("ToSlash(%q) = %q, want %q", tc.win, got, tc.slash)
		}
	}
	if got := wintar.ToWindows(`Files/back\slash`); got != `Files\back\slash` {
		t.Errorf("existing backslashes: %q", got)
	}
	if got := wintar.WhiteoutName(`Files\dir\a.txt`); got != "Files/dir/.wh.a.txt" {
		t.Errorf("WhiteoutName: %q", got)
	}
}
