//go:build linux

package moby

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/layer"

	"github.com/winlayer/winlayer/layer/layertest"
)

// TestWindowsfilterContainerCommit drives docker commit's path through
// moby's layer store: two registered layers, a RW layer on top, a file
// written into its mount; its TarStream must hold that file.
func TestWindowsfilterContainerCommit(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	ls, err := layer.NewStoreFromOptions(layer.StoreOptions{Root: t.TempDir(), GraphDriver: DriverName})
	if err != nil {
		t.Fatal(err)
	}
	defer ls.Cleanup()
	base, err := ls.Register(bytes.NewReader(layertest.Tar(layertest.Dir("Files"), layertest.File("Files/base.txt", []byte("base")))), "")
	if err != nil {
		t.Fatal(err)
	}
	mid, err := ls.Register(bytes.NewReader(layertest.Tar(layertest.Dir("Files"), layertest.File("Files/mid.txt", []byte("mid")))), base.ChainID())
	if err != nil {
		t.Fatal(err)
	}
	rw, err := ls.CreateRWLayer("container", mid.ChainID(), nil)
	if err != nil {
		t.Fatal(err)
	}
	root, err := rw.Mount("")
	if err != nil {
		t.Fatal(err)
	}
	const content = "written in the container"
	if err := os.WriteFile(filepath.Join(root, "new.txt"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := rw.Unmount(); err != nil {
		t.Fatal(err)
	}
	changes, err := rw.Changes()
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || changes[0].Path != "/new.txt" {
		t.Errorf("Changes = %v, want one change /new.txt", changes)
	}
	rc, err := rw.TarStream()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var names []string
	got := ""
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.ReplaceAll(h.Name, `\`, "/")
		names = append(names, name)
		if name == "Files/new.txt" {
			b, _ := io.ReadAll(tr)
			got = string(b)
		}
	}
	if got != content {
		t.Errorf("TarStream entries %v: Files/new.txt holds %q, want %q", names, got, content)
	}
}
