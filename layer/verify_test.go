package layer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	lt "github.com/winlayer/winlayer/layer/layertest"
)

// TestWithVerify: the verify callback sees the tar's DiffID before the
// commit; its error discards the layer and nothing of it stays.
func TestWithVerify(t *testing.T) {
	tarb := lt.Tar(lt.Dir("Files"), lt.File("Files/a.txt", []byte("verify me")))
	sum := sha256.Sum256(tarb)
	want := "sha256:" + hex.EncodeToString(sum[:])
	errNo := errors.New("digest says no")
	for _, tc := range []struct {
		name    string
		verdict error
	}{{"accept", nil}, {"refuse", errNo}} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			var got string
			_, err = s.Import(context.Background(), "l", nil, bytes.NewReader(tarb), WithVerify(func(d string) error {
				got = d
				if _, serr := os.Stat(s.Dir("l")); serr == nil {
					t.Error("layer directory exists before verify returned")
				}
				return tc.verdict
			}))
			if got != want {
				t.Errorf("verify saw DiffID %q, want %q", got, want)
			}
			if !errors.Is(err, tc.verdict) || (tc.verdict == nil) != (err == nil) {
				t.Fatalf("import: %v, want %v", err, tc.verdict)
			}
			if s.Exists("l") != (tc.verdict == nil) {
				t.Fatalf("layer exists %v after verdict %v", s.Exists("l"), tc.verdict)
			}
			if tc.verdict != nil {
				names, _ := os.ReadDir(filepath.Join(s.Home(), stagingDir))
				if len(names) != 0 {
					t.Errorf("staging keeps %d entries after a refused verify", len(names))
				}
			}
		})
	}
}

// TestDotDirsAreNotLayers: directories whose name starts with a dot (the
// image index, kept blobs) are neither listed as layers nor deleted by
// Cleanup, also when their name ends in -removing.
func TestDotDirsAreNotLayers(t *testing.T) {
	home := t.TempDir()
	for _, d := range []string{".images", ".blobs/sha256", ".x-removing"} {
		if err := os.MkdirAll(filepath.Join(home, d), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(home, d, "keep"), []byte("k"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Open(home)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Create(context.Background(), "base", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Cleanup(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := listIDs(t, s); !slices.Equal(got, []string{"base"}) {
		t.Errorf("List = %v, want [base]", got)
	}
	for _, d := range []string{".images", ".blobs/sha256", ".x-removing"} {
		if _, err := os.Stat(filepath.Join(home, d, "keep")); err != nil {
			t.Errorf("%s after Open and Cleanup: %v", d, err)
		}
	}
	if deps, err := s.Dependants(context.Background(), "base"); err != nil || len(deps) != 0 {
		t.Errorf("Dependants(base) = %v, %v", deps, err)
	}
}
