package wintar_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/winlayer/winlayer/backupstream"
	"github.com/winlayer/winlayer/wintar"
)

// The fuzz targets are seeded from the oracle vectors in ../testdata:
// every tar, every header name and creation time in them, and every
// backup stream of the .jsonl record files.

// goldenTars returns the contents of ../testdata/*.tar and errors/*.tar.
func goldenTars(tb testing.TB) map[string][]byte {
	tb.Helper()
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "*.tar"))
	more, _ := filepath.Glob(filepath.Join("..", "testdata", "errors", "*.tar"))
	paths = append(paths, more...)
	if len(paths) == 0 {
		tb.Fatal("no golden tars in ../testdata")
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		out[p] = b
	}
	return out
}

// goldenHeaders returns every header of the golden tars that archive/tar reads.
func goldenHeaders(tb testing.TB) []*tar.Header {
	var hdrs []*tar.Header
	for _, b := range goldenTars(tb) {
		tr := tar.NewReader(bytes.NewReader(b))
		for {
			h, err := tr.Next()
			if err != nil {
				break
			}
			hdrs = append(hdrs, h)
		}
	}
	return hdrs
}

// goldenStream is one backup stream from a record file, with the size and
// attributes the exporter is called with.
type goldenStream struct {
	stream []byte
	size   int64
	attrs  uint32
}

// goldenStreams decodes the add records of ../testdata/*.jsonl and
// errors/*.jsonl: stream_b64, or the stream encoded from its parts.
func goldenStreams(tb testing.TB) []goldenStream {
	tb.Helper()
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "*.jsonl"))
	more, _ := filepath.Glob(filepath.Join("..", "testdata", "errors", "*.jsonl"))
	paths = append(paths, more...)
	var out []goldenStream
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			var rec struct {
				Op        string  `json:"op"`
				Size      int64   `json:"size"`
				StreamB64 *string `json:"stream_b64"`
				FileInfo  *struct {
					FileAttributes uint32 `json:"file_attributes"`
				} `json:"file_info"`
				Streams []struct {
					ID         uint32 `json:"id"`
					Attributes uint32 `json:"attributes"`
					Name       string `json:"name"`
					Offset     int64  `json:"offset"`
					DataB64    string `json:"data_b64"`
				} `json:"streams"`
			}
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				tb.Fatalf("%s: %v", p, err)
			}
			if rec.Op != "add" {
				continue
			}
			g := goldenStream{size: rec.Size}
			if rec.FileInfo != nil {
				g.attrs = rec.FileInfo.FileAttributes
			}
			if rec.StreamB64 != nil {
				if g.stream, err = base64.StdEncoding.DecodeString(*rec.StreamB64); err != nil {
					tb.Fatalf("%s: %v", p, err)
				}
			} else {
				var buf bytes.Buffer
				bw := backupstream.NewWriter(&buf)
				for _, s := range rec.Streams {
					data, err := base64.StdEncoding.DecodeString(s.DataB64)
					if err != nil {
						tb.Fatalf("%s: %v", p, err)
					}
					bw.WriteHeader(&backupstream.Header{ID: backupstream.StreamID(s.ID), Attributes: s.Attributes, Name: s.Name, Offset: s.Offset, Size: int64(len(data))})
					bw.Write(data)
				}
				g.stream = buf.Bytes()
			}
			out = append(out, g)
		}
		f.Close()
		if err := sc.Err(); err != nil {
			tb.Fatalf("%s: %v", p, err)
		}
	}
	if len(out) == 0 {
		tb.Fatal("no golden streams in ../testdata")
	}
	return out
}

func FuzzParsePAXTime(f *testing.F) {
	for _, s := range []string{"1600000000.123456789987", "-1.5", "-0.5", "12.", ".5", "12.3x", "+5", "1635930900.0000001",
		"6802270473.709551616", "-3", "0", "-9223372036854775808.999999999", "9223372036854775807.999999999", "-.5", "1.-5"} {
		f.Add(s)
	}
	for _, h := range goldenHeaders(f) {
		if s, ok := h.PAXRecords[wintar.PAXCreationTime]; ok {
			f.Add(s)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		t1, err := wintar.ParsePAXTime(s)
		if err != nil {
			if !errors.Is(err, tar.ErrHeader) {
				t.Fatalf("ParsePAXTime(%q): %v, want tar.ErrHeader", s, err)
			}
			return
		}
		s2 := wintar.FormatPAXTime(t1)
		t2, err := wintar.ParsePAXTime(s2)
		if err != nil {
			t.Fatalf("ParsePAXTime(%q) = %v, formatted %q, which does not parse: %v", s, t1, s2, err)
		}
		if !t2.Equal(t1) {
			t.Fatalf("ParsePAXTime(%q) = %v, formatted %q, parsed back %v", s, t1, s2, t2)
		}
		if s3 := wintar.FormatPAXTime(t2); s3 != s2 {
			t.Fatalf("format not stable: %q then %q", s2, s3)
		}
	})
}

func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"Files", "Files/", "Files/a.txt:stream", "Files/dir/", "..", "/abs", "C:/x", "Files/../x",
		`Files/a\b`, "Files/a\x00", "Other/x", "Files//x", "Files/./x", "Files/a.", "Files/a:b/c", "Files/x:y./z", "Files/..:x", "Files/a.txt:"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	for _, h := range goldenHeaders(f) {
		f.Add(h.Name, h.Typeflag == tar.TypeDir)
		if h.Linkname != "" {
			f.Add(h.Linkname, false)
		}
	}
	f.Fuzz(func(t *testing.T, name string, dir bool) {
		err := wintar.ValidateName(name, dir)
		if err != nil {
			if !errors.Is(err, wintar.ErrUnsafeName) {
				t.Fatalf("ValidateName(%q): %v does not wrap ErrUnsafeName", name, err)
			}
			return
		}
		checkSafeName(t, name, dir)
	})
}

// checkSafeName asserts what ValidateName promises of a name it accepts.
func checkSafeName(t *testing.T, name string, dir bool) {
	t.Helper()
	n := name
	if dir {
		n = strings.TrimSuffix(n, "/")
	}
	if strings.HasPrefix(n, "/") || strings.ContainsAny(n, "\\\x00") {
		t.Fatalf("accepted %q: absolute, backslash or NUL", name)
	}
	parts := strings.Split(n, "/")
	switch root, _, _ := strings.Cut(parts[0], ":"); root {
	case wintar.RootFiles, wintar.RootHives, wintar.RootUtilityVM:
	default:
		t.Fatalf("accepted %q: does not start with a layer root", name)
	}
	for i, p := range parts {
		file, _, stream := strings.Cut(p, ":")
		if p == "" || file == "." || file == ".." || file == "" || (stream && i < len(parts)-1) {
			t.Fatalf("accepted %q: component %q", name, p)
		}
	}
	// On Windows the name is split at both separators: still no "..".
	for _, p := range strings.Split(wintar.ToWindows(n), `\`) {
		if p == ".." {
			t.Fatalf("accepted %q: .. once converted", name)
		}
	}
}

// checkWriter is a LayerWriter for fuzzing: it keeps only the current
// file's stream, refuses more than maxStream bytes of it (a sparse tar
// entry may claim any logical size), and checks every completed stream:
// it must parse with backupstream.Reader and its EA and reparse payloads
// must decode. In strict mode it also checks every name it is given.
type checkWriter struct {
	t      *testing.T
	strict bool
	name   string
	cur    bytes.Buffer
	open   bool
	calls  int
	first  *backupstream.FileBasicInfo
	data   []byte // the first file's data stream
}

const maxStream = 4 << 20

var errStreamTooLarge = errors.New("fuzz stream limit")

func (w *checkWriter) finish() {
	if !w.open {
		return
	}
	w.open = false
	br := backupstream.NewReader(bytes.NewReader(w.cur.Bytes()))
	for {
		h, err := br.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			w.t.Fatalf("%s: the import wrote a stream that does not parse: %v", w.name, err)
		}
		payload, err := io.ReadAll(br)
		if err != nil {
			w.t.Fatalf("%s: stream %v: %v", w.name, h.ID, err)
		}
		switch h.ID {
		case backupstream.StreamEAData:
			if _, err := backupstream.DecodeEAs(payload); err != nil {
				w.t.Fatalf("%s: the import wrote EAs that do not decode: %v", w.name, err)
			}
		case backupstream.StreamReparseData:
			if _, err := backupstream.DecodeReparsePoint(payload); err != nil {
				w.t.Fatalf("%s: the import wrote a reparse point that does not decode: %v", w.name, err)
			}
		case backupstream.StreamAlternateData:
			if w.strict && (!strings.HasPrefix(h.Name, ":") || !strings.HasSuffix(h.Name, ":$DATA") || strings.ContainsAny(h.Name, "/\\\x00") || h.Name == "::$DATA") {
				w.t.Fatalf("%s: strict import wrote stream %q", w.name, h.Name)
			}
		case backupstream.StreamData:
			if w.calls == 1 {
				w.data = payload
			}
		case backupstream.StreamSecurity:
		default:
			w.t.Fatalf("%s: the import wrote stream id %v", w.name, h.ID)
		}
		if h.Attributes != 0 {
			w.t.Fatalf("%s: stream %v with attributes %d", w.name, h.ID, h.Attributes)
		}
	}
	w.cur.Reset()
}

func (w *checkWriter) checkName(name string, dir bool) {
	if w.strict {
		checkSafeName(w.t, wintar.ToSlash(name), dir)
	}
}

func (w *checkWriter) Add(name string, info *backupstream.FileBasicInfo) error {
	w.finish()
	w.checkName(name, true)
	w.calls++
	if w.calls == 1 {
		w.first = info
	}
	w.name, w.open = name, true
	return nil
}

func (w *checkWriter) AddLink(name, target string) error {
	w.finish()
	w.checkName(name, false)
	w.checkName(target, false)
	w.calls++
	return nil
}

func (w *checkWriter) Remove(name string) error {
	w.finish()
	w.checkName(name, true)
	w.calls++
	return nil
}

func (w *checkWriter) Write(p []byte) (int, error) {
	if !w.open {
		w.t.Fatal("Write without Add")
	}
	if w.cur.Len()+len(p) > maxStream {
		return 0, errStreamTooLarge
	}
	return w.cur.Write(p)
}

var quiet = slog.New(slog.DiscardHandler)

func FuzzTarToStream(f *testing.F) {
	for _, b := range goldenTars(f) {
		f.Add(b)
	}
	f.Add(randomLayer(f, 1))
	f.Add(makeTar(f, reg("Files/a", "a", nil), reg("Files/a:x/../../y", "s", nil), reg("Files/a:", "s", nil)))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, strict := range []bool{false, true} {
			opts := []wintar.ImportOption{wintar.WithLogger(quiet)}
			if strict {
				opts = append(opts, wintar.WithStrictNames())
			}
			w := &checkWriter{t: t, strict: strict}
			_, err := wintar.Import(context.Background(), tar.NewReader(bytes.NewReader(b)), w, opts...)
			if err == nil {
				w.finish()
				continue
			}
			var ee *wintar.EntryError
			if !errors.As(err, &ee) {
				t.Fatalf("error %v (%T) is not an *EntryError", err, err)
			}
			if ee.Index < 0 || ee.Op == "" {
				t.Fatalf("EntryError %+v", ee)
			}
		}
	})
}

func FuzzStreamToTar(f *testing.F) {
	for _, g := range goldenStreams(f) {
		f.Add(g.stream, g.size, g.attrs)
	}
	f.Fuzz(func(t *testing.T, stream []byte, size int64, attrs uint32) {
		// A sparse stream is expanded up to size: keep that small.
		if size > 1<<22 {
			size %= 1 << 22
		}
		info := backupstream.FileBasicInfo{
			CreationTime:   ftOf(1600000000, 100),
			LastAccessTime: ftOf(1682944498, 0),
			LastWriteTime:  ftOf(1682944497, 500),
			ChangeTime:     ftOf(1682944499, 0),
			FileAttributes: attrs,
		}
		for _, m := range readModes {
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			if err := wintar.WriteTarFileFromBackupStream(tw, m.wrap(stream), `Files\f`, size, &info); err != nil {
				continue
			}
			if err := tw.Close(); err != nil {
				continue
			}
			entries, err := readTar(buf.Bytes())
			if err != nil {
				t.Fatalf("%s: the exported tar does not read back: %v", m.name, err)
			}
			if len(entries) == 0 || entries[0].hdr.Name != "Files/f" {
				t.Fatalf("%s: first entry %v", m.name, entries)
			}
			w := &checkWriter{t: t}
			if _, err := wintar.Import(context.Background(), tar.NewReader(bytes.NewReader(buf.Bytes())), w, wintar.WithLogger(quiet)); err != nil {
				if errors.Is(err, wintar.ErrReparseTargetTooLong) {
					continue // a print name longer than a reparse buffer holding both names
				}
				t.Fatalf("%s: the exported tar does not re-import: %v", m.name, err)
			}
			w.finish()
			if w.first == nil || *w.first != info {
				t.Fatalf("%s: re-imported info %+v, want %+v", m.name, w.first, info)
			}
			if first := entries[0]; first.hdr.Typeflag == tar.TypeReg && !bytes.Equal(w.data, first.data) {
				t.Fatalf("%s: re-imported data differs from the tar content", m.name)
			}
		}
	})
}

// TestFuzzSeedsLoad makes sure the seed corpus is found, so a moved
// testdata directory cannot silently empty the fuzz targets.
func TestFuzzSeedsLoad(t *testing.T) {
	if n := len(goldenStreams(t)); n < 40 {
		t.Errorf("%d golden streams, want at least 40", n)
	}
	if n := len(goldenHeaders(t)); n < 40 {
		t.Errorf("%d golden headers, want at least 40", n)
	}
}
