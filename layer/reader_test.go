package layer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/winlayer/winlayer/backupstream"
	"github.com/winlayer/winlayer/internal/records"
)

// replay feeds the golden import records of a tar to a Writer, as hcsshim's
// import loop would, without the tar itself.
func replay(t *testing.T, w *Writer, recs []byte) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(recs))
	for {
		var r records.Record
		if err := dec.Decode(&r); err != nil {
			break
		}
		var err error
		switch r.Op {
		case records.OpAdd:
			if err = w.Add(r.WinName, r.FileInfo.Basic()); err != nil {
				break
			}
			stream, e := records.EncodeStreams(r.Streams)
			if e != nil {
				t.Fatal(e)
			}
			_, err = w.Write(stream)
		case records.OpLink:
			err = w.AddLink(r.WinName, r.WinTarget)
		case records.OpRemove:
			err = w.Remove(r.WinName)
		}
		if err != nil {
			t.Fatalf("%s %s: %v", r.Op, r.WinName, err)
		}
	}
}

// recordSet dumps a tar and returns its records in a canonical order
// (name), as comparable JSON.
func recordSet(t *testing.T, tarBytes []byte) []string {
	t.Helper()
	var out bytes.Buffer
	if err := records.Dump(context.Background(), bytes.NewReader(tarBytes), &out, records.DumpOptions{}); err != nil {
		t.Fatal(err)
	}
	var recs []records.Record
	dec := json.NewDecoder(&out)
	for {
		var r records.Record
		if err := dec.Decode(&r); err != nil {
			break
		}
		recs = append(recs, r)
	}
	// Which name of a hard-linked file is exported in full depends on the
	// order of the walk; compare link groups by their smallest name.
	group := map[string]string{}
	for _, r := range recs {
		if r.Op == records.OpLink {
			g := "group:" + min(r.WinName, r.WinTarget)
			group[r.WinName], group[r.WinTarget] = g, g
		}
	}
	var set []string
	for _, r := range recs {
		if r.Op == records.OpEnd {
			continue
		}
		r.WinName = strings.TrimSuffix(r.WinName, `\`) // the walk adds no trailing separator
		if g, ok := group[r.WinName]; ok {
			r.WinName = g
			if r.Op == records.OpLink {
				r.WinTarget = g
			}
		}
		key := struct {
			Op, WinName, WinTarget string
			FileInfo               *records.FileInfo
			SHA                    string
			Size                   *int64
		}{r.Op, r.WinName, r.WinTarget, r.FileInfo, r.StreamSHA256, r.Size}
		if key.FileInfo != nil {
			key.FileInfo.AttributeNames = nil
		}
		b, _ := json.Marshal(key)
		set = append(set, string(b))
	}
	sort.Strings(set)
	return set
}

// TestWriterBuiltExport: a layer built through the Writer from the golden
// records (no tar) exports, through the Reader and the codec, a tar whose
// import records are the golden ones (in walk order instead of tar order).
func TestWriterBuiltExport(t *testing.T) {
	recs, err := os.ReadFile(filepath.Join(testdata, "sample.rebuilt.dump.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(testdata, "sample.rebuilt.tar"))
	if err != nil {
		t.Fatal(err)
	}
	s, w := newStoreWriter(t, "built")
	replay(t, w, recs)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := exportAll(t, s, "built")
	g, wnt := recordSet(t, got), recordSet(t, want)
	if strings.Join(g, "\n") != strings.Join(wnt, "\n") {
		for i := range max(len(g), len(wnt)) {
			var a, b string
			if i < len(g) {
				a = g[i]
			}
			if i < len(wnt) {
				b = wnt[i]
			}
			if a != b {
				t.Errorf("record %d:\n got %s\nwant %s", i, a, b)
			}
		}
	}
	// Export is deterministic and a fixpoint of import→export.
	s2, _ := Open(t.TempDir())
	if _, err := s2.Import(context.Background(), "again", nil, bytes.NewReader(got)); err != nil {
		t.Fatal(err)
	}
	if again := exportAll(t, s2, "again"); !bytes.Equal(again, got) {
		t.Fatal("re-import of the export does not export the same bytes")
	}
}

// TestReaderNext walks a layer with a directory, a file, a second name of
// that file and a whiteout, and checks each Header: the whiteout flag,
// the link name of the second name (no backup stream), the size and
// basic information of the file, and io.EOF at the end.
func TestReaderNext(t *testing.T) {
	s, w := newStoreWriter(t, "walk")
	stream, data := fileStream(t, 100, 7)
	dirInfo := &backupstream.FileBasicInfo{FileAttributes: backupstream.AttrDirectory, LastWriteTime: 11}
	fileInfo := &backupstream.FileBasicInfo{FileAttributes: backupstream.AttrArchive, LastWriteTime: 22}
	mustDo(t, w.Add(`Files`, dirInfo))
	mustDo(t, w.Add(`Files\a.txt`, fileInfo))
	if _, err := w.Write(stream); err != nil {
		t.Fatal(err)
	}
	mustDo(t, w.AddLink(`Files\b.txt`, `Files\a.txt`))
	mustDo(t, w.Remove(`Files\gone`))
	mustDo(t, w.Close())

	r, err := s.NewReader(context.Background(), "walk")
	mustDo(t, err)
	defer r.Close()
	want := []Header{
		{Name: `Files`, Info: *dirInfo},
		{Name: `Files\a.txt`, Size: int64(len(data)), Info: *fileInfo},
		{Name: `Files\b.txt`, Info: *fileInfo, Linkname: `Files\a.txt`},
		{Name: `Files\gone`, Whiteout: true},
	}
	var got []Header
	for {
		h, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		mustDo(t, err)
		got = append(got, *h)
		b, err := io.ReadAll(r)
		mustDo(t, err)
		if h.Name == `Files\a.txt` {
			if !bytes.Equal(b, stream) {
				t.Errorf("%s: backup stream differs from the one written", h.Name)
			}
		} else if h.Name != `Files` && len(b) != 0 {
			t.Errorf("%s: %d bytes of backup stream, want none", h.Name, len(b))
		}
	}
	sort.Slice(got, func(i, j int) bool { return got[i].Name < got[j].Name })
	if !reflect.DeepEqual(got, want) {
		t.Errorf("headers:\n got %+v\nwant %+v", got, want)
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("Next after the end: %v, want io.EOF", err)
	}
}
