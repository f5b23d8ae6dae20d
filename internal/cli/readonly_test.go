package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestMain doubles as the command line for TestNonRootReaders: with
// WINLAYER_TEST_CLI=1 the test binary is winlayer.
func TestMain(m *testing.M) {
	if os.Getenv("WINLAYER_TEST_CLI") == "1" {
		os.Exit(Main(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// snapshot describes every file of a tree: type, mode, size, mtime, and
// the content of regular files (by hash).
func snapshot(t *testing.T, root string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%s %v %d %d", p, fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			line += fmt.Sprintf(" %x", sha256.Sum256(b))
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestReadOnlyCommandsWriteNothing runs every read-only command over a
// store that holds debris a cleanup would remove (a stale removal, a
// stale staging directory) and checks that the store's tree — names,
// modes, sizes, mtimes, contents — is the same after each; and that none
// of them creates a store that is not there.
func TestReadOnlyCommandsWriteNothing(t *testing.T) {
	store := importSample(t)
	for _, d := range []string{"old-removing/Files", ".staging/dead.123/Files"} {
		if err := os.MkdirAll(filepath.Join(store, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	outside := t.TempDir()
	before := snapshot(t, store)
	for _, args := range [][]string{
		{"ls"}, {"ls", "--json"},
		{"inspect", "base"}, {"inspect", "--json", "child", `C:\hello.txt`},
		{"export", "child"}, {"export", "-o", filepath.Join(outside, "x.tar"), "base"},
		{"check"}, {"check", "--fast", "--json", "base"},
		{"records", "dump"},
	} {
		full, stdin := append([]string{"--store", store}, args...), []byte(nil)
		if args[0] == "records" {
			full, stdin = args, readFile(t, "sample.rebuilt.tar")
		}
		if _, errOut, code := run(t, stdin, full...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		if after := snapshot(t, store); after != before {
			t.Fatalf("%v changed the store:\nbefore:\n%s\nafter:\n%s", args, before, after)
		}
	}
	missing := filepath.Join(outside, "typo")
	for _, cmd := range []string{"ls", "inspect", "export", "check", "rm", "cleanup"} {
		args := []string{"--store", missing, cmd}
		if cmd == "inspect" || cmd == "export" || cmd == "rm" {
			args = append(args, "base")
		}
		if _, errOut, code := run(t, nil, args...); code != 1 || !strings.Contains(errOut, missing) {
			t.Errorf("%s of a missing store: exit %d, %q (want the path named; rm and cleanup, which write, create no store either)", cmd, code, errOut)
		}
		if _, err := os.Lstat(missing); err == nil {
			t.Fatalf("%s created the missing store %s", cmd, missing)
		}
	}
}

// TestNonRootReaders: a store made by root can be listed, inspected,
// exported and checked by another user (nobody), without a write; an
// import by that user fails without changing it. Needs root (to make the
// store and to switch users) and setpriv.
func TestNonRootReaders(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: makes a root-owned store and runs the CLI as nobody")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) is not installed")
	}
	// A directory nobody can reach: TempDir's parents are private.
	top, err := os.MkdirTemp("", "winlayer-nonroot")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(top) })
	if err := os.Chmod(top, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(top, "winlayer")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(top, "store")
	in := readFile(t, "sample.rebuilt.tar")
	for _, args := range [][]string{{"import", "base"}, {"import", "--parent", "base", "child"}} {
		if _, errOut, code := run(t, in, append([]string{"--store", store}, args...)...); code != 0 {
			t.Fatalf("%v: %d %s", args, code, errOut)
		}
	}
	sample, err := filepath.Abs(filepath.Join("..", "..", "testdata", "image"))
	if err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := run(t, nil, "--store", store, "image", "pull", "-q", "--platform", "windows/amd64:10.0.20348", "oci:"+sample); code != 0 {
		t.Fatalf("image pull: %d %s", code, errOut)
	}
	// Everything root's pull made outside .staging — the image locks
	// (.images/lock, pulls.lock) too, as the store's own lock — is
	// readable by all.
	for _, lock := range []string{".winlayer.lock", ".images/lock", ".images/pulls.lock"} {
		if _, err := os.Stat(filepath.Join(store, lock)); err != nil {
			t.Errorf("after a pull: %v", err)
		}
	}
	err = filepath.WalkDir(store, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Name() == ".staging" {
			if err == nil {
				err = fs.SkipDir
			}
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if !d.IsDir() && !d.Type().IsRegular() {
			return nil // a whiteout (0:0 character device) has no content to read
		}
		want := fs.FileMode(0o004)
		if d.IsDir() {
			want = 0o005
		}
		if fi.Mode().Perm()&want != want {
			t.Errorf("%s is %v: not readable by other users", p, fi.Mode())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	saveTo := filepath.Join(top, "saved")
	if err := os.Mkdir(saveTo, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(saveTo, 0o777); err != nil {
		t.Fatal(err)
	}
	asNobody := func(args ...string) (string, string, error) {
		cmd := exec.Command(setpriv, append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", bin, "--store", store}, args...)...)
		cmd.Env = []string{"WINLAYER_TEST_CLI=1", "PATH=/usr/bin:/bin", "HOME=/nonexistent"}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr, cmd.Stdin = &out, &errb, bytes.NewReader(in)
		err := cmd.Run()
		return out.String(), errb.String(), err
	}
	if _, errOut, err := asNobody("ls"); err != nil && strings.Contains(errOut, "failed to execute") {
		t.Skipf("cannot run a program from %s as nobody (noexec?): %s", top, errOut)
	}
	if out, errOut, err := asNobody("ls"); err != nil || !strings.Contains(out, "child") || !strings.Contains(out, "base") {
		t.Fatalf("setpriv %s ls: %v\n%s%s", bin, err, out, errOut)
	}
	before := snapshot(t, store)
	for _, args := range [][]string{
		{"ls", "--json"}, {"inspect", "child"}, {"inspect", "base", `C:\hello.txt`}, {"check"}, {"check", "--fast", "child"},
		{"image", "ls"}, {"image", "inspect", "--json", "latest"},
		// Save reads every kept blob: they must be readable by all.
		{"image", "save", "latest", "oci:" + filepath.Join(saveTo, "layout")},
	} {
		if out, errOut, err := asNobody(args...); err != nil {
			t.Errorf("as nobody: %v: %v\n%s%s", args, err, out, errOut)
		}
	}
	out, errOut, err := asNobody("export", "child")
	if err != nil || sha256.Sum256([]byte(out)) != sha256.Sum256(in) {
		t.Errorf("as nobody: export child: %v, %d bytes (equal %v)\n%s", err, len(out), out == string(in), errOut)
	}
	if _, errOut, err := asNobody("import", "mine"); err == nil || !strings.Contains(errOut, "permission denied") {
		t.Errorf("as nobody: import into root's store: %v %q, want permission denied", err, errOut)
	}
	if after := snapshot(t, store); after != before {
		t.Errorf("commands as nobody changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
