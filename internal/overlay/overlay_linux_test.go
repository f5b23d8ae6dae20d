package overlay

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// layout makes the directories of a stack from a description: "d/" a
// directory, "f" a file, "w" a whiteout (xattr form, made unprivileged),
// "o/" an opaque directory.
func layout(t *testing.T, entries ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, e := range entries {
		name, kind, _ := strings.Cut(e, ":")
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch kind {
		case "d":
			err = os.Mkdir(p, 0o755)
		case "f":
			err = os.WriteFile(p, []byte(name), 0o644)
		case "w":
			err = MakeUserWhiteout(p)
		case "o":
			if err = os.Mkdir(p, 0o755); err == nil {
				err = MakeUserOpaque(p)
			}
		}
		if err != nil {
			if NoPrivilege(err) {
				t.Skipf("this file system has no user xattrs: %v", err)
			}
			t.Fatal(err)
		}
	}
	return root
}

// TestLookup: overlayfs' resolution of a path through lower directories.
func TestLookup(t *testing.T) {
	top := layout(t, "a:f", "gone:w", "dir:d", "dir/new:f", "opq:o", "opq/x:f", "file-over-dir:f")
	bottom := layout(t, "a:f", "gone:f", "dir:d", "dir/old:f", "opq:d", "opq/hidden:f", "file-over-dir:d", "file-over-dir/y:f", "deep:d", "deep/z:f")
	lowers := []string{top, bottom}
	for _, tc := range []struct {
		path string
		want string // "top", "bottom" or "" (not visible)
	}{
		{"/a", "top"},
		{"/gone", ""},
		{"/dir", "top"},
		{"/dir/new", "top"},
		{"/dir/old", "bottom"},
		{"/opq/x", "top"},
		{"/opq/hidden", ""},
		{"/file-over-dir/y", ""},
		{"/deep/z", "bottom"},
		{"/missing", ""},
		{"/", ""},
	} {
		dir, ok := Lookup(lowers, tc.path)
		got := ""
		switch {
		case ok && dir == top:
			got = "top"
		case ok && dir == bottom:
			got = "bottom"
		case ok:
			got = dir
		}
		if got != tc.want {
			t.Errorf("Lookup(%s) = %q, want %q", tc.path, got, tc.want)
		}
	}
}

// TestWhiteoutForms: both whiteout forms are recognised, an ordinary empty
// file is not; the device form needs privilege and says so.
func TestWhiteoutForms(t *testing.T) {
	dir := layout(t, "x:w", "plain:d")
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		want bool
	}{{"x", true}, {"empty", false}, {"plain", false}} {
		p := filepath.Join(dir, tc.name)
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := IsWhiteoutAt(p, fi); got != tc.want {
			t.Errorf("IsWhiteoutAt(%s) = %v, want %v", tc.name, got, tc.want)
		}
	}
	dev := filepath.Join(dir, "dev")
	err := MakeWhiteout(dev)
	if os.Geteuid() != 0 {
		if !NoPrivilege(err) {
			t.Fatalf("MakeWhiteout unprivileged: %v, want a privilege error", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(dev)
	if err != nil || !IsWhiteoutDevice(fi) || !IsWhiteoutAt(dev, fi) {
		t.Fatalf("device whiteout not recognised: %v", err)
	}
	if err := MakeOpaque(filepath.Join(dir, "plain")); err != nil && !errors.Is(err, os.ErrPermission) {
		if !NoPrivilege(err) {
			t.Fatal(err)
		}
	} else if err == nil && !IsOpaque(filepath.Join(dir, "plain")) {
		t.Fatal("MakeOpaque did not make it opaque")
	}
}
