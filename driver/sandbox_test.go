package driver

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestSandboxDiff: what is written through a sandbox's view is in its
// Diff, Changes and DiffSize, before and after a restart.
func TestSandboxDiff(t *testing.T) {
	d := newDriver(t)
	if err := d.CreateReadWrite("sb", "", nil); err != nil {
		if errors.Is(err, ErrSizeLimitUnsupported) {
			t.Skipf("no loop devices here: %v", err)
		}
		t.Fatal(err)
	}
	root := get(t, d, "sb")
	must(t, os.WriteFile(filepath.Join(root, "new.txt"), []byte("hello sandbox"), 0o644))
	put(t, d, "sb")
	check := func(t *testing.T, d *Driver) {
		rc, err := d.Diff("sb", "")
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		tr := tar.NewReader(rc)
		found := false
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Name == `Files/new.txt` || h.Name == `Files\new.txt` {
				b, _ := io.ReadAll(tr)
				found = string(b) == "hello sandbox"
			}
		}
		if !found {
			t.Errorf("Diff lacks Files/new.txt with its content")
		}
		n, err := d.DiffSize("sb", "")
		if err != nil || n != int64(len("hello sandbox")) {
			t.Errorf("DiffSize = %d, %v", n, err)
		}
	}
	check(t, d)
	must(t, d.Cleanup())
	d2, err := New(d.home, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d2.Cleanup() })
	check(t, d2)
}
