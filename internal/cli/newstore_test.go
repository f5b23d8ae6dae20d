package cli

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestNewStoreFailureLeavesNothing: every verb that creates a store
// (import, image load, image pull) and fails before committing anything
// leaves no store directory behind — nor the parents it had to make —
// while a store directory that existed before stays, empty or not.
func TestNewStoreFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	linux := filepath.Join(dir, "linux.tar")
	tag, _ := name.NewTag("example.com/new/lin:1")
	if err := tarball.MultiRefWriteToFile(linux, map[name.Reference]v1.Image{tag: cliTestImage(t, "linux", "", 31, 1)}); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.tar")
	if err := os.WriteFile(bad, []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	trunc := filepath.Join(dir, "trunc.tar")
	if err := os.WriteFile(trunc, readFile(t, "sample.tar")[:4096], 0o644); err != nil {
		t.Fatal(err)
	}
	sample := filepath.Join(testdata, "sample.tar")
	for _, c := range []struct {
		name string
		args []string
	}{
		{"import of a text file", []string{"import", "-f", bad, "x"}},
		{"import of a cut tar", []string{"import", "-f", trunc, "x"}},
		{"import with a missing parent", []string{"import", "-f", sample, "--parent", "nope", "x"}},
		{"import of an invalid id", []string{"import", "-f", sample, "-bad"}},
		{"load of a Linux archive", []string{"image", "load", "docker-archive:" + linux}},
		{"pull of a Linux archive", []string{"image", "pull", "docker-archive:" + linux}},
		{"load of a text file", []string{"image", "load", "docker-archive:" + bad}},
	} {
		t.Run(c.name, func(t *testing.T) {
			top := filepath.Join(t.TempDir(), "new")
			store := filepath.Join(top, "a", "store")
			_, errOut, code := run(t, nil, append([]string{"--store", store}, c.args...)...)
			if code == 0 || !strings.HasPrefix(errOut, "winlayer: ") {
				t.Fatalf("%v: %d %q, want a failure", c.args, code, errOut)
			}
			if _, err := os.Stat(top); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%v: %s exists after the failure (%v)", c.args, top, err)
			}
			// A store directory that existed, even empty, stays.
			existing := t.TempDir()
			if _, _, code := run(t, nil, append([]string{"--store", existing}, c.args...)...); code == 0 {
				t.Fatalf("%v into an existing directory succeeded", c.args)
			}
			if _, err := os.Stat(existing); err != nil {
				t.Errorf("%v: the existing store directory went: %v", c.args, err)
			}
		})
	}
	// A new store that the command committed to stays.
	store := filepath.Join(t.TempDir(), "new", "store")
	if _, errOut, code := run(t, nil, "--store", store, "import", "-f", sample, "base"); code != 0 {
		t.Fatalf("import into a new store: %d %q", code, errOut)
	}
	if _, _, code := run(t, nil, "--store", store, "import", "-f", bad, "x"); code == 0 {
		t.Fatal("import of a text file succeeded")
	}
	if out, _, code := run(t, nil, "--store", store, "ls"); code != 0 || !strings.Contains(out, "base") {
		t.Errorf("the store with a layer after a failed import: %d %q", code, out)
	}
}

// TestRemoveEmptyStoreKeepsContent: the undo of a new store removes it
// only while it holds nothing but directories and empty lock files.
func TestRemoveEmptyStoreKeepsContent(t *testing.T) {
	for _, c := range []struct {
		file, data string
		gone       bool
	}{
		{".winlayer.lock", "", true},
		{".images/lock", "", true},
		{".images/pulls.lock", "", true},
		{".images/index.json", "{}", false},
		{".images/lock", "x", false},
		{"layer1/Files/a", "", false},
		{".staging/tmp", "", false},
	} {
		top := filepath.Join(t.TempDir(), "top")
		home := filepath.Join(top, "store")
		if err := os.MkdirAll(filepath.Dir(filepath.Join(home, c.file)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(home, c.file), []byte(c.data), 0o644); err != nil {
			t.Fatal(err)
		}
		removeEmptyStore(home, top)
		_, err := os.Stat(top)
		if gone := errors.Is(err, fs.ErrNotExist); gone != c.gone {
			t.Errorf("%s %q: removed %v, want %v", c.file, c.data, gone, c.gone)
		}
	}
}
