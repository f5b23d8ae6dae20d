package records

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/winlayer/winlayer/backupstream"
	"github.com/winlayer/winlayer/wintar"
)

const testdata = "../../testdata"

// loadRecords reads a records file.
func loadRecords(t *testing.T, b []byte) []Record {
	t.Helper()
	var out []Record
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// semantic is the part of a record the golden comparison looks at (the
// fields shared/tools/dumpdiff compares): EAs as a set, because go-winio
// writes them in map order.
type semantic struct {
	Op, WinName, WinTarget, BCDBackup, Error string
	Size, TotalSize                          *int64
	FileInfo                                 *[5]uint64
	Streams                                  []Stream
}

func semanticOf(r Record, withError bool) semantic {
	s := semantic{Op: r.Op, WinName: r.WinName, WinTarget: r.WinTarget, BCDBackup: r.BCDBackup,
		Size: r.Size, TotalSize: r.TotalSize}
	if withError {
		s.Error = r.Error
	}
	if fi := r.FileInfo; fi != nil {
		s.FileInfo = &[5]uint64{fi.CreationTime.FT, fi.LastAccessTime.FT, fi.LastWriteTime.FT, fi.ChangeTime.FT, uint64(fi.FileAttributes)}
	}
	for _, st := range r.Streams {
		n := Stream{ID: st.ID, Attributes: st.Attributes, Size: st.Size, Name: st.Name, Offset: st.Offset, DataB64: st.DataB64}
		if len(st.EAs) > 0 {
			n.EAs = append([]EA(nil), st.EAs...)
			sort.Slice(n.EAs, func(a, b int) bool { return n.EAs[a].Name < n.EAs[b].Name })
			n.DataB64 = ""
		}
		s.Streams = append(s.Streams, n)
	}
	return s
}

func eaCount(r Record) int {
	n := 0
	for _, s := range r.Streams {
		n += len(s.EAs)
	}
	return n
}

// compareRecords checks got against want record for record; with exact,
// streams must also be byte-identical wherever a record has at most one EA.
func compareRecords(t *testing.T, want, got []Record, withError, exact bool) {
	t.Helper()
	if len(want) != len(got) {
		t.Errorf("%d records, want %d", len(got), len(want))
	}
	for i := 0; i < len(want) && i < len(got); i++ {
		w, g := semanticOf(want[i], withError), semanticOf(got[i], withError)
		if !reflect.DeepEqual(w, g) {
			wj, _ := json.Marshal(w)
			gj, _ := json.Marshal(g)
			t.Errorf("record %d %q differs:\n got %s\nwant %s", i, want[i].WinName, gj, wj)
			continue
		}
		if exact && eaCount(want[i]) <= 1 && want[i].StreamSHA256 != got[i].StreamSHA256 {
			t.Errorf("record %d %q: stream_sha256 %s, want %s", i, want[i].WinName, got[i].StreamSHA256, want[i].StreamSHA256)
		}
	}
}

func dump(t *testing.T, tarPath string) ([]byte, error) {
	t.Helper()
	f, err := os.Open(tarPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	err = Dump(context.Background(), f, &out, DumpOptions{})
	return out.Bytes(), err
}

func build(t *testing.T, recs []byte, opts BuildOptions) ([]byte, error) {
	t.Helper()
	var out bytes.Buffer
	err := Build(bytes.NewReader(recs), &out, opts)
	return out.Bytes(), err
}

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDumpGolden: dumping the sample tars gives go-winio's records.
func TestDumpGolden(t *testing.T) {
	for _, tc := range []struct{ tar, want string }{
		{"sample.tar", "sample.dump.jsonl"},
		{"sample.rebuilt.tar", "sample.rebuilt.dump.jsonl"},
	} {
		t.Run(tc.tar, func(t *testing.T) {
			got, err := dump(t, filepath.Join(testdata, tc.tar))
			if err != nil {
				t.Fatal(err)
			}
			want := loadRecords(t, read(t, tc.want))
			recs := loadRecords(t, got)
			compareRecords(t, want, recs, true, true)
			if end := recs[len(recs)-1]; end.Op != OpEnd || end.EntryCount == nil || *end.EntryCount != *want[len(want)-1].EntryCount {
				t.Errorf("end record %+v, want entry_count %d", end, *want[len(want)-1].EntryCount)
			}
		})
	}
}

// TestBuildGolden: building the golden records gives sample.rebuilt.tar
// byte for byte, in both read modes where they agree.
func TestBuildGolden(t *testing.T) {
	want := read(t, "sample.rebuilt.tar")
	for _, in := range []string{"sample.dump.jsonl", "sample.rebuilt.dump.jsonl"} {
		t.Run(in, func(t *testing.T) {
			got, err := build(t, read(t, in), BuildOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("build(%s): %d bytes, differs from sample.rebuilt.tar (%d bytes)", in, len(got), len(want))
			}
		})
	}
}

// TestFixpoint: build(dump(x)) == x for an exported tar, and dump∘build is
// stable on the records.
func TestFixpoint(t *testing.T) {
	want := read(t, "sample.rebuilt.tar")
	recs, err := dump(t, filepath.Join(testdata, "sample.rebuilt.tar"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := build(t, recs, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("build(dump(sample.rebuilt.tar)) differs from sample.rebuilt.tar")
	}
	// From the original sample: one round gives the rebuilt tar, the
	// second round gives it again.
	recs, err = dump(t, filepath.Join(testdata, "sample.tar"))
	if err != nil {
		t.Fatal(err)
	}
	once, err := build(t, recs, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(once, want) {
		t.Fatal("build(dump(sample.tar)) differs from sample.rebuilt.tar")
	}
}

// TestImportErrorVectors: every errors/*.tar gives go-winio's records; the
// error text matches except where go-winio's is the host OS's message.
func TestImportErrorVectors(t *testing.T) {
	tars, _ := filepath.Glob(filepath.Join(testdata, "errors", "*.tar"))
	if len(tars) == 0 {
		t.Fatal("no vectors")
	}
	for _, tp := range tars {
		base := strings.TrimSuffix(filepath.Base(tp), ".tar")
		t.Run(base, func(t *testing.T) {
			got, err := dump(t, tp)
			want := loadRecords(t, read(t, filepath.Join("errors", base+".dump.jsonl")))
			recs := loadRecords(t, got)
			wantErr := want[len(want)-1].Op == OpError
			if wantErr != (err != nil) {
				t.Fatalf("error %v, want error: %v", err, wantErr)
			}
			// bad-sddl: go-winio's text is the OS's message for an SDDL
			// parse failure; ours names the problem instead.
			compareRecords(t, want, recs, base != "bad-sddl", true)
			if wantErr && !strings.Contains(err.Error(), want[len(want)-1].Name) {
				t.Errorf("error %q does not name the entry %q", err, want[len(want)-1].Name)
			}
		})
	}
}

// TestExportErrorVectors: every errors/*.jsonl fails as go-winio does, with
// the same message, except reparse-truncated, where go-winio panics.
func TestExportErrorVectors(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testdata, "errors", "*.jsonl"))
	n := 0
	for _, fp := range files {
		if strings.HasSuffix(fp, ".dump.jsonl") {
			continue
		}
		n++
		base := strings.TrimSuffix(filepath.Base(fp), ".jsonl")
		t.Run(base, func(t *testing.T) {
			_, err := build(t, read(t, filepath.Join("errors", base+".jsonl")), BuildOptions{})
			var be *BuildError
			if !errors.As(err, &be) {
				t.Fatalf("error %v, want a *BuildError", err)
			}
			wantText := strings.TrimSpace(string(read(t, filepath.Join("errors", base+".stderr"))))
			switch base {
			case "reparse-truncated":
				if !errors.Is(err, backupstream.ErrTruncatedReparse) {
					t.Fatalf("error %v, want ErrTruncatedReparse", err)
				}
				return
			case "size-but-no-data":
				if want := strings.TrimPrefix(wantText, "oracle build: "); be.Op+": "+be.Err.Error() != want {
					t.Fatalf("error %q, want %q", be.Op+": "+be.Err.Error(), want)
				}
				return
			}
			var want Record
			if err := json.Unmarshal([]byte(wantText), &want); err != nil {
				t.Fatal(err)
			}
			got := be.ErrorRecord()
			if got.Error != want.Error || got.WinName != want.WinName {
				t.Fatalf("error record %q %q, want %q %q", got.WinName, got.Error, want.WinName, want.Error)
			}
		})
	}
	if n == 0 {
		t.Fatal("no vectors")
	}
}

// TestStrictDump: with the store's rules, every unsafe vector fails on the
// entry go-winio would have passed on, and safe vectors still match.
func TestStrictDump(t *testing.T) {
	for _, tc := range []struct {
		tar, entry string
		wantErr    error
	}{
		{"sample.tar", "", nil},
		{"sample.rebuilt.tar", "", nil},
		{"errors/ads-orphan.tar", "Files/a.txt:s", wintar.ErrOrphanStream},
	} {
		t.Run(tc.tar, func(t *testing.T) {
			f, err := os.Open(filepath.Join(testdata, tc.tar))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var out bytes.Buffer
			err = Dump(context.Background(), f, &out, DumpOptions{Strict: true})
			switch {
			case tc.entry == "" && err != nil:
				t.Fatalf("strict dump failed: %v", err)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			case tc.entry != "" && tc.wantErr != nil && !strings.Contains(err.Error(), tc.entry):
				t.Fatalf("error %v does not name %q", err, tc.entry)
			}
		})
	}
	// odd-types: the fifo is the first entry refused once the global header is skipped.
	f, _ := os.Open(filepath.Join(testdata, "errors/odd-types.tar"))
	defer f.Close()
	var out bytes.Buffer
	err := Dump(context.Background(), f, &out, DumpOptions{Strict: true})
	var ee *wintar.EntryError
	if !errors.As(err, &ee) || ee.Name != "Files/fifo" || !errors.Is(err, wintar.ErrUnsupportedType) {
		t.Fatalf("odd-types strict: %v, want unsupported type for Files/fifo", err)
	}
}
