package wintar_test

import (
	"archive/tar"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/winlayer/winlayer/backupstream"
	"github.com/winlayer/winlayer/wintar"
)

// layerTar writes, with archive/tar and headers built here from the spec
// (§5), the tar go-winio's exporter would produce for a layer.
type layerTar struct {
	tb    testing.TB
	tw    *tar.Writer
	buf   bytes.Buffer
	infos map[string]backupstream.FileBasicInfo // by tar name, for hard links
}

func newLayerTar(tb testing.TB) *layerTar {
	l := &layerTar{tb: tb, infos: map[string]backupstream.FileBasicInfo{}}
	l.tw = tar.NewWriter(&l.buf)
	return l
}

func (l *layerTar) write(h *tar.Header, data []byte) {
	l.tb.Helper()
	if err := l.tw.WriteHeader(h); err != nil {
		l.tb.Fatalf("%s: %v", h.Name, err)
	}
	if _, err := l.tw.Write(data); err != nil {
		l.tb.Fatalf("%s: %v", h.Name, err)
	}
}

func (l *layerTar) base(name string, info backupstream.FileBasicInfo) *tar.Header {
	l.infos[name] = info
	return &tar.Header{
		Format:     tar.FormatPAX,
		Name:       name,
		Typeflag:   tar.TypeReg,
		ModTime:    time.Unix(0, info.LastWriteTime.Nanoseconds()),
		AccessTime: time.Unix(0, info.LastAccessTime.Nanoseconds()),
		ChangeTime: time.Unix(0, info.ChangeTime.Nanoseconds()),
		PAXRecords: map[string]string{
			"MSWINDOWS.fileattr":      strconv.FormatUint(uint64(info.FileAttributes), 10),
			"LIBARCHIVE.creationtime": wintar.FormatPAXTime(time.Unix(0, info.CreationTime.Nanoseconds())),
		},
	}
}

func meta(h *tar.Header, sd []byte, eas []backupstream.EA) {
	if sd != nil {
		h.PAXRecords["MSWINDOWS.rawsd"] = base64.StdEncoding.EncodeToString(sd)
	}
	for _, ea := range eas {
		h.PAXRecords["MSWINDOWS.xattr."+ea.Name] = base64.StdEncoding.EncodeToString(ea.Value)
	}
}

type ads struct {
	name string
	data []byte
}

func (l *layerTar) file(name string, info backupstream.FileBasicInfo, sd []byte, eas []backupstream.EA, data []byte, streams ...ads) {
	h := l.base(name, info)
	h.Mode = 0o100000
	h.Size = int64(len(data))
	meta(h, sd, eas)
	l.write(h, data)
	for _, s := range streams {
		l.write(&tar.Header{Format: tar.FormatPAX, Name: name + ":" + s.name, Mode: h.Mode, Typeflag: tar.TypeReg, Size: int64(len(s.data)),
			ModTime: h.ModTime, AccessTime: h.AccessTime, ChangeTime: h.ChangeTime}, s.data)
	}
}

func (l *layerTar) dir(name string, info backupstream.FileBasicInfo, sd []byte, eas []backupstream.EA) {
	h := l.base(name, info)
	h.Typeflag, h.Mode = tar.TypeDir, 0o40000
	meta(h, sd, eas)
	l.write(h, nil)
}

func (l *layerTar) symlink(name string, info backupstream.FileBasicInfo, sd []byte, target string, mountPoint bool) {
	h := l.base(name, info)
	if info.FileAttributes&backupstream.AttrDirectory != 0 {
		h.Mode = 0o40000
	}
	h.Typeflag, h.Mode, h.Linkname = tar.TypeSymlink, h.Mode|0o120000, target
	if mountPoint {
		h.PAXRecords["MSWINDOWS.mountpoint"] = "1"
	}
	meta(h, sd, nil)
	l.write(h, nil)
}

func (l *layerTar) whiteout(name string) { l.write(&tar.Header{Name: name}, nil) }

func (l *layerTar) link(name, target string) {
	h := l.base(name, l.infos[target])
	delete(l.infos, name)
	h.Typeflag, h.Mode, h.Linkname = tar.TypeLink, 0o644, target
	l.write(h, nil)
}

func (l *layerTar) bytes() []byte {
	l.tb.Helper()
	if err := l.tw.Close(); err != nil {
		l.tb.Fatal(err)
	}
	return l.buf.Bytes()
}

// exportCalls exports what Import recorded, as a layer reader would hand
// it to the exporter: each file's stream with the size of its data
// stream, whiteouts by name, hard links with their target's information.
func exportCalls(tb testing.TB, calls []call, seekable bool) []byte {
	tb.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	infos := map[string]*backupstream.FileBasicInfo{}
	for _, c := range calls {
		var err error
		switch c.op {
		case "add":
			infos[c.name] = c.info
			var size int64
			parts, perr := parseStream(c.stream)
			if perr != nil {
				tb.Fatalf("%s: %v", c.name, perr)
			}
			for _, p := range parts {
				if p.id == backupstream.StreamData {
					size = int64(len(p.data))
				}
			}
			var r io.Reader = bytes.NewReader(c.stream)
			if !seekable {
				r = onlyReader{r}
			}
			err = wintar.WriteTarFileFromBackupStream(tw, r, c.name, size, c.info)
		case "remove":
			err = wintar.WriteWhiteout(tw, c.name)
		case "link":
			err = wintar.WriteHardLink(tw, c.name, c.target, infos[c.target])
		}
		if err != nil {
			tb.Fatalf("export %v: %v", c, err)
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// randomLayer builds an exporter-made tar with every kind of entry and
// random metadata, names, sizes and times.
func randomLayer(tb testing.TB, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	l := newLayerTar(tb)
	randBytes := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		return b
	}
	// Times between 1700 and 2200, 100 ns resolution: exact round trips.
	lo := time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano() / 100
	hi := time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano() / 100
	ft := func() backupstream.Filetime { return backupstream.NsecToFiletime((lo + r.Int64N(hi-lo)) * 100) }
	info := func(attrs uint32) backupstream.FileBasicInfo {
		return backupstream.FileBasicInfo{CreationTime: ft(), LastAccessTime: ft(), LastWriteTime: ft(), ChangeTime: ft(), FileAttributes: attrs}
	}
	sd := func() []byte {
		if r.IntN(4) == 0 {
			return nil
		}
		return randBytes(1 + r.IntN(120))
	}
	eas := func() []backupstream.EA {
		var list []backupstream.EA
		seen := map[string]bool{}
		for range r.IntN(4) {
			var name string
			for range 1 + r.IntN(12) {
				name += string(rune("ABCDEFGHIJKLMNOPQRSTUVWXYZ$._0123456789"[r.IntN(39)]))
			}
			if seen[name] {
				continue
			}
			seen[name] = true
			list = append(list, backupstream.EA{Name: name, Value: randBytes(r.IntN(50))})
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
		return list
	}
	names := []string{"a.txt", "Program Files", "über", "日本語.dat", strings.Repeat("long-name-", 12), "x"}
	fileAttrs := []uint32{0, backupstream.AttrArchive, backupstream.AttrReadOnly | backupstream.AttrHidden, backupstream.AttrSystem | backupstream.AttrArchive | backupstream.AttrNotContentIndexed}

	l.dir("Files", info(backupstream.AttrDirectory), sd(), nil)
	var files []string
	for d := range 3 {
		dirName := fmt.Sprintf("Files/dir%d-%s", d, names[r.IntN(len(names))])
		l.dir(dirName, info(backupstream.AttrDirectory|fileAttrs[r.IntN(len(fileAttrs))]), sd(), eas())
		for f := range 6 {
			name := fmt.Sprintf("%s/%d-%s", dirName, f, names[r.IntN(len(names))])
			switch r.IntN(6) {
			case 0:
				l.symlink(name, info(backupstream.AttrReparsePoint|backupstream.AttrArchive), sd(), []string{`..\a.txt`, `C:\Windows\System32\cmd.exe`, `\\server\share\x`, `\\?\C:\x`, `rel`}[r.IntN(5)], false)
			case 1:
				l.symlink(name, info(backupstream.AttrReparsePoint|backupstream.AttrDirectory), sd(), `C:\ProgramData`, true)
			default:
				var streams []ads
				for s := range r.IntN(3) {
					streams = append(streams, ads{fmt.Sprintf("s%d.%s", s, []string{"Zone.Identifier", "meta", "x"}[r.IntN(3)]), randBytes(r.IntN(700))})
				}
				size := []int{0, 1, 511, 512, 513, 3000}[r.IntN(6)]
				l.file(name, info(fileAttrs[r.IntN(len(fileAttrs))]), sd(), eas(), randBytes(size), streams...)
				files = append(files, name)
			}
		}
		if r.IntN(2) == 0 {
			l.whiteout(dirName + "/.wh.deleted")
		}
		if r.IntN(2) == 0 {
			l.whiteout(dirName + "/.wh..wh..opq")
		}
	}
	for _, f := range files[:min(3, len(files))] {
		l.link(f+".link", f)
	}
	l.dir("Hives", info(backupstream.AttrDirectory), nil, nil)
	l.file("Hives/System_Delta", info(0), nil, nil, randBytes(2000))
	l.dir("UtilityVM", info(backupstream.AttrDirectory), nil, nil)
	l.dir("UtilityVM/Files", info(backupstream.AttrDirectory), nil, nil)
	l.file("UtilityVM/Files/EFI/Microsoft/Boot/BCD", info(backupstream.AttrArchive|backupstream.AttrSystem), sd(), nil, randBytes(1000))
	return l.bytes()
}

// TestRoundTrip: for tars made the way the exporter makes them,
// export(import(x)) == x byte for byte, through both export paths.
func TestRoundTrip(t *testing.T) {
	type tc struct {
		name string
		tar  []byte
	}
	cases := []tc{}
	for seed := range uint64(20) {
		cases = append(cases, tc{fmt.Sprintf("random-%d", seed), randomLayer(t, seed)})
	}
	// The oracle's own export of the sample layer.
	if b, err := os.ReadFile(filepath.Join("..", "testdata", "sample.rebuilt.tar")); err == nil {
		cases = append(cases, tc{"sample.rebuilt.tar", b})
	} else {
		t.Errorf("golden missing: %v", err)
	}
	// A sparse file's export is dense; that tar is a fixpoint too.
	{
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		st := streamOf(t, part{id: backupstream.StreamData, attr: backupstream.AttrSparse},
			part{id: backupstream.StreamSparseBlock, offset: 100, data: "x"}, part{id: backupstream.StreamSparseBlock, offset: 5000})
		info := fileInfo
		info.FileAttributes |= backupstream.AttrSparseFile
		if err := wintar.WriteTarFileFromBackupStream(tw, bytes.NewReader(st), `Files\sparse`, 5000, &info); err != nil {
			t.Fatal(err)
		}
		tw.Close()
		cases = append(cases, tc{"sparse export", buf.Bytes()})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{}
			total, err := importTar(t, c.tar, rec)
			if err != nil {
				t.Fatal(err)
			}
			var want int64
			entries, err := readTar(c.tar)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if e.hdr.Typeflag == tar.TypeReg && !strings.Contains(path(e.hdr.Name), ":") && !strings.HasPrefix(path(e.hdr.Name), ".wh.") {
					want += e.hdr.Size
				}
			}
			if total != want {
				t.Errorf("total %d, want %d", total, want)
			}
			for _, seekable := range []bool{true, false} {
				got := exportCalls(t, rec.calls, seekable)
				if !bytes.Equal(got, c.tar) {
					t.Errorf("seekable=%v: export(import(x)) differs from x at byte %d of %d/%d", seekable, firstDiff(got, c.tar), len(got), len(c.tar))
				}
			}
		})
	}
}

func path(name string) string { return name[strings.LastIndexByte(name, '/')+1:] }

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
