package layer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/winlayer/winlayer/internal/overlay"
	"github.com/winlayer/winlayer/layer/layertest"
)

// importExportSeeds are the tars FuzzImportExport starts from: layers the
// builders make (every kind of entry, names the codec must keep exactly,
// names it must refuse) and the golden tars of the repository.
func importExportSeeds(t testing.TB) [][]byte {
	d, f := layertest.Dir, layertest.File
	seeds := [][]byte{
		layertest.Tar(d("Files"), f("Files/a.txt", []byte("hello"))),
		layertest.Tar(d("Files"), f("Files/a.txt", []byte("hello")), f("Files/a.txt:s", []byte("stream"))),
		// Not UTF-8: refused (the defect: imported, then export failed).
		layertest.Tar(d("Files"), f("Files/a.txt", []byte("hi")), f("Files/a.txt:\xff", []byte("s"))),
		layertest.Tar(d("Files"), f("Files/\xff.txt", []byte("hi"))),
		// Unpaired surrogate in WTF-8, and a pair in CESU-8.
		layertest.Tar(d("Files"), f("Files/a.txt", []byte("hi")), f("Files/a.txt:\xed\xa0\x80", []byte("s"))),
		layertest.Tar(d("Files"), f("Files/a.txt", []byte("hi")), f("Files/a.txt:\xed\xa0\x80\xed\xb0\x80", []byte("s"))),
		// Kept exactly: non-ASCII, U+FFFD itself, a character beyond the BMP.
		layertest.Tar(d("Files"), f("Files/é.txt", []byte("hi")), f("Files/é.txt:\uFFFD", nil), f("Files/é.txt:😀", []byte("x"))),
		layertest.Tar(d("Files"), layertest.Entry{Name: "Files/l", Type: '2', Link: "a.txt"},
			layertest.Entry{Name: "Files/.wh.gone", NoMeta: true}, d("Hives"), f("Hives/System_Delta", []byte{1, 2, 3})),
		layertest.Tar(d("Files"), f("Files/a", nil), layertest.Entry{Name: "Files/b", Type: '1', Link: "Files/a"}),
	}
	for _, p := range []string{"sample.tar", "sample.rebuilt.tar"} {
		b, err := os.ReadFile(filepath.Join(testdata, p))
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	errs, err := filepath.Glob(filepath.Join(testdata, "errors", "*.tar"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range errs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	return seeds
}

// FuzzImportExport imports arbitrary bytes into a store that already holds
// a layer, as a base layer or as its child: a tar the store accepts must
// export byte for byte (the same sha256), and a refused one must leave the
// store exactly as it was (same tree, same file contents).
func FuzzImportExport(f *testing.F) {
	for _, b := range importExportSeeds(f) {
		f.Add(b, false)
		f.Add(b, true)
	}
	s, err := Open(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	base := layertest.Tar(layertest.Dir("Files"), layertest.File("Files/a.txt", []byte("base")), layertest.File("Files/a", []byte("base a")))
	if _, err := s.Import(ctx, "base", nil, bytes.NewReader(base)); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte, child bool) {
		var parents []string
		if child {
			parents = []string{s.Dir("base")}
		}
		before := storeTree(t, s.Home())
		_, err := s.Import(ctx, "l", parents, bytes.NewReader(in))
		if err != nil {
			if after := storeTree(t, s.Home()); after != before {
				t.Fatalf("refused import (%v) changed the store:\nbefore:\n%s\nafter:\n%s", err, before, after)
			}
			return
		}
		defer func() {
			if err := s.Remove(context.Background(), "l"); err != nil {
				t.Fatal(err)
			}
		}()
		rc, err := s.Export(ctx, "l")
		if err != nil {
			t.Fatalf("accepted tar does not export: %v", err)
		}
		out, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("accepted tar does not export: %v", err)
		}
		if sha256.Sum256(out) != sha256.Sum256(in) {
			t.Fatalf("export differs from the import: %d bytes in, %d out", len(in), len(out))
		}
	})
}

// storeTree lists everything beneath home: name, type, permissions, size,
// content hash, link target, whiteout and opaque marks; not times (a
// staging directory created and removed changes its parent's mtime).
func storeTree(t testing.TB, home string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(home, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(home, p)
		line := fmt.Sprintf("%q %v", rel, fi.Mode())
		switch {
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			line += fmt.Sprintf(" %d %s", len(b), hex.EncodeToString(sum[:8]))
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			line += " -> " + target
		case fi.IsDir() && overlay.IsOpaque(p):
			line += " opaque"
		case overlay.IsWhiteoutDevice(fi):
			line += " whiteout"
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	return b.String()
}
