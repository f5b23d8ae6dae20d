package layer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/winlayer/winlayer/layer/layertest"
)

// indexFuzzSeeds are the index and security descriptor files
// FuzzLayerIndex starts from: those of imported layers (every kind of
// entry: streams, a symlink, a whiteout, hard links), and hand-damaged
// ones (a descriptor number out of range, negative sizes and sparse
// ranges, a stream file number that is no file, names leaving the layer).
func indexFuzzSeeds(t testing.TB) [][2][]byte {
	d, fl := layertest.Dir, layertest.File
	tars := [][]byte{
		layertest.Tar(d("Files"), fl("Files/a.txt", []byte("hello")), fl("Files/a.txt:s", []byte("stream")),
			layertest.Entry{Name: "Files/l", Type: '2', Link: "a.txt"}, layertest.Entry{Name: "Files/.wh.gone", NoMeta: true},
			fl("Files/b", nil), layertest.Entry{Name: "Files/c", Type: '1', Link: "Files/b"}),
	}
	b, err := os.ReadFile(filepath.Join(testdata, "sample.tar"))
	if err != nil {
		t.Fatal(err)
	}
	tars = append(tars, b)
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var seeds [][2][]byte
	for _, tb := range tars {
		if _, err := s.Import(context.Background(), "seed", nil, bytes.NewReader(tb)); err != nil {
			t.Fatal(err)
		}
		idx, sd := readIndexFiles(t, s.Dir("seed"))
		seeds = append(seeds, [2][]byte{idx, sd})
		if err := s.Remove(context.Background(), "seed"); err != nil {
			t.Fatal(err)
		}
	}
	sd := []byte(`["AQAEgBQAAAAkAAAAAAAAADAAAAABAgAAAAAABSAAAAAgAgAAAQIAAAAAAAUgAAAAIAIAAAIAHAABAAAAAAAUAP8BHwABAQAAAAAABRIAAAA="]`)
	for _, idx := range []string{
		`{"name":"Files","kind":"dir","sd":2}`,
		`{"name":"Files","kind":"dir","sd":-1}`,
		`{"name":"Files","kind":"dir"}` + "\n" + `{"name":"Files/a.txt","kind":"file","data":true,"size":-5}`,
		`{"name":"Files","kind":"dir"}` + "\n" + `{"name":"Files/a.txt","kind":"file","data":true,"data_attr":8,"size":10,"sparse":[[-4,-1],[9223372036854775807,9223372036854775807]]}`,
		`{"name":"Files","kind":"dir"}` + "\n" + `{"name":"Files/a.txt","kind":"file","ads":[{"name":":s:$DATA","size":-1,"file":-1}]}`,
		`{"name":"Files/../../../etc/passwd","kind":"file","data":true,"size":1}`,
		`{"name":"/etc","kind":"dir"}` + "\n" + `{"name":"Files/x","kind":"hardlink","link":"Files/x"}`,
		`{"name":"Files/x","kind":"hardlink","link":"Files/y"}` + "\n" + `{"name":"Files/y","kind":"hardlink","link":"Files/x"}`,
		`{"name":"UtilityVM/Files/EFI/Microsoft/Boot/BCD","kind":"file","data":true,"size":3,"bcd_backup":"../../x"}`,
		`{"name":"Files","kind":"weird"}`,
		`{"name":"Files","kind":"dir","ea":"!!"}`,
	} {
		seeds = append(seeds, [2][]byte{[]byte(idx), sd})
	}
	return seeds
}

func readIndexFiles(t testing.TB, dir string) (idx, sd []byte) {
	t.Helper()
	idx, err := os.ReadFile(filepath.Join(dir, metaDir, indexFile))
	if err != nil {
		t.Fatal(err)
	}
	sd, err = os.ReadFile(filepath.Join(dir, metaDir, sdFile))
	if err != nil {
		t.Fatal(err)
	}
	return idx, sd
}

// FuzzLayerIndex puts arbitrary bytes in the index (index.jsonl) and the
// security descriptor table (sd.json) of a stored layer, one with its
// tar-split record and one without (exported from the index), as a
// damaged disk or a hand edit would: Entries, the Reader, Export, Check
// and List read it with an error or a report, never a panic, Entries
// fails only with ErrCorrupt, Check reports the damage without an error,
// and nothing in the store changes.
func FuzzLayerIndex(f *testing.F) {
	for _, seed := range indexFuzzSeeds(f) {
		f.Add(seed[0], seed[1], false)
		f.Add(seed[0], seed[1], true)
	}
	s, err := Open(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	tarBytes, err := os.ReadFile(filepath.Join(testdata, "sample.tar"))
	if err != nil {
		f.Fatal(err)
	}
	for _, id := range []string{"ts", "ix"} {
		if _, err := s.Import(ctx, id, nil, bytes.NewReader(tarBytes)); err != nil {
			f.Fatal(err)
		}
	}
	if err := os.Remove(filepath.Join(s.Dir("ix"), metaDir, tarSplitFile)); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, idx, sd []byte, tarSplit bool) {
		id := "ix"
		if tarSplit {
			id = "ts"
		}
		dir := filepath.Join(s.Dir(id), metaDir)
		oldIdx, oldSD := readIndexFiles(t, s.Dir(id))
		t.Cleanup(func() {
			if err := os.WriteFile(filepath.Join(dir, indexFile), oldIdx, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, sdFile), oldSD, 0o644); err != nil {
				t.Fatal(err)
			}
		})
		if err := os.WriteFile(filepath.Join(dir, indexFile), idx, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, sdFile), sd, 0o644); err != nil {
			t.Fatal(err)
		}
		before := storeTree(t, s.Home())

		if _, _, err := s.Entries(ctx, id); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Entries: %v is not ErrCorrupt", err)
		}
		if r, err := s.NewReader(ctx, id); err == nil {
			for {
				if _, err := r.Next(); err != nil {
					break
				}
				if _, err := io.Copy(io.Discard, r); err != nil {
					break
				}
			}
			r.Close()
		}
		if rc, err := s.Export(ctx, id); err == nil {
			io.Copy(io.Discard, rc)
			rc.Close()
		}
		for _, fast := range []bool{true, false} {
			if _, err := s.Check(ctx, id, CheckOptions{Fast: fast}); err != nil {
				t.Fatalf("Check (fast %v): %v", fast, err)
			}
		}
		if _, err := s.List(ctx); err != nil {
			t.Fatalf("List: %v", err)
		}
		if after := storeTree(t, s.Home()); after != before {
			t.Fatalf("reading the layer changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})
}
