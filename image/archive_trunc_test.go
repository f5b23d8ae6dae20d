package image

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenTruncatedArchive: a docker-archive cut short anywhere is
// ErrBadImage saying where it ends (in a member's bytes, in a header, in
// the first header), not "not a docker-archive (manifest.json)".
func TestOpenTruncatedArchive(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "app.tar")
	writeArchive(t, full, testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(31, 2), false), "example.com/app:1")
	b, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		n    int
		want string
	}{
		{100, "it ends in its first tar header"},
		{512 + 10, "it ends inside member "},
		{1024 + 100, "it ends in the tar header after member "},
		{len(b) / 2, "it ends inside member "},
	} {
		p := filepath.Join(dir, "cut.tar")
		if err := os.WriteFile(p, b[:c.n], 0o644); err != nil {
			t.Fatal(err)
		}
		loc, err := ParseLocation("docker-archive:" + p)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Open(context.Background(), loc, Config{})
		if !errors.Is(err, ErrBadImage) || !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "the archive is cut short ("+c.want) {
			t.Errorf("cut at %d: %v", c.n, err)
		}
	}
}
