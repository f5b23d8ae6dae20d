//go:build linux

package driver

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/winlayer/winlayer/layer"
)

// TestSandboxDiff: what is written through a sandbox's view (a new file,
// a deleted lower file) is in its Diff, Changes, DiffSize and DiffGetter,
// while mounted, unmounted, and after a restart over the same home.
func TestSandboxDiff(t *testing.T) {
	d := newRealDriver(t)
	must(t, d.Create("base", "", nil))
	writeFile(t, d, "base", "gone.txt", []byte("delete me"))
	if err := d.CreateReadWrite("sb", "base", nil); err != nil {
		if errors.Is(err, ErrSizeLimitUnsupported) {
			t.Skipf("no loop devices here: %v", err)
		}
		t.Fatal(err)
	}
	const content = "hello sandbox"
	root := get(t, d, "sb")
	must(t, os.WriteFile(filepath.Join(root, "new.txt"), []byte(content), 0o644))
	must(t, os.Remove(filepath.Join(root, "gone.txt")))

	check := func(t *testing.T, d *Driver) {
		t.Helper()
		rc, err := d.Diff("sb", "base")
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		tr := tar.NewReader(rc)
		var got, whiteout string
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			switch strings.ReplaceAll(h.Name, `\`, "/") {
			case "Files/new.txt":
				b, _ := io.ReadAll(tr)
				got = string(b)
			case "Files/.wh.gone.txt":
				whiteout = h.Name
			}
		}
		if got != content {
			t.Errorf("Diff: Files/new.txt holds %q, want %q", got, content)
		}
		if whiteout == "" {
			t.Errorf("Diff: no whiteout for gone.txt")
		}
		changes, err := d.Changes("sb", "base")
		if err != nil {
			t.Fatal(err)
		}
		var cs []string
		for _, c := range changes {
			cs = append(cs, c.Kind.String()+" "+c.Path)
		}
		sort.Strings(cs)
		if want := "A /new.txt,D /gone.txt"; strings.Join(cs, ",") != want {
			t.Errorf("Changes = %v, want %s", cs, want)
		}
		if n, err := d.DiffSize("sb", "base"); err != nil || n != int64(len(content)) {
			t.Errorf("DiffSize = %d, %v, want %d", n, err, len(content))
		}
		g, err := d.DiffGetter("sb")
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		f, err := g.Get(`Files\new.txt`)
		if err != nil {
			f, err = g.Get("Files/new.txt")
		}
		if err != nil {
			t.Fatalf("DiffGetter: %v", err)
		}
		b, _ := io.ReadAll(f)
		f.Close()
		if string(b) != content {
			t.Errorf("DiffGetter: %q, want %q", b, content)
		}
		// The store's check takes the sandbox for what it is: good, with
		// the comparison of Files against the index skipped.
		for _, id := range []string{"base", "sb"} {
			r, err := d.store.Check(context.Background(), id, layer.CheckOptions{})
			if err != nil || !r.OK() || len(r.Skipped) == 0 {
				t.Errorf("Check %s: %v %+v", id, err, r)
			}
		}
	}
	t.Run("mounted", func(t *testing.T) { check(t, d) })
	put(t, d, "sb")
	t.Run("unmounted", func(t *testing.T) { check(t, d) })
	must(t, d.Cleanup())
	d2, err := New(d.home, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d2.Cleanup() })
	t.Run("reopened", func(t *testing.T) { check(t, d2) })
}
