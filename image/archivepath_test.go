package image

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteArchiveBadPath: a docker-archive destination that is a
// directory, or in a directory that is missing or a file, is refused
// before anything is written, naming the path (a directory failed only at
// the final rename, "file exists"; a missing directory named the temporary
// file).
func TestWriteArchiveBadPath(t *testing.T) {
	img := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(32, 1), false)
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path, want string
		notExist   bool
	}{
		{dir, dir + " is a directory; a docker-archive is one file (docker-archive:" + dir + "/NAME.tar)", false},
		{filepath.Join(dir, "missing", "a.tar"), "the directory of " + filepath.Join(dir, "missing", "a.tar"), true},
		{filepath.Join(file, "a.tar"), file + " is not a directory", false},
	} {
		_, err := WriteArchive(context.Background(), c.path, []NamedImage{{Name: "example.com/app:1", Image: img}}, WriteOptions{})
		if !errors.Is(err, ErrBadLocation) || !strings.Contains(err.Error(), c.want) || errors.Is(err, fs.ErrNotExist) != c.notExist {
			t.Errorf("%s: %v", c.path, err)
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("the directory has %d entries after the refusals, want the 1 file", len(ents))
	}
}
