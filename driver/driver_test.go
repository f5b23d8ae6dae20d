//go:build linux

package driver

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/winlayer/winlayer/driver/internal/fakemount"
	"github.com/winlayer/winlayer/layer"
)

func TestMain(m *testing.M) {
	if ReexecInit() {
		return
	}
	os.Exit(m.Run())
}

// newDriver returns a driver in a fresh home: with the Linux mounter
// where overlay mounts are possible (root, overlayfs), else with the
// fake mounter, which runs the driver's logic without privilege.
func newDriver(t *testing.T, opts ...string) *Driver {
	t.Helper()
	var o []Option
	if !canMount() {
		o = append(o, WithMounter(fakemount.New()))
	}
	return openDriver(t, opts, o...)
}

// newRealDriver is newDriver for tests of the real mounts (sizes, owners):
// it skips only where overlay mounts are truly impossible (not root, no
// overlayfs).
func newRealDriver(t *testing.T, opts ...string) *Driver {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for overlay mounts")
	}
	if !canMount() {
		t.Skip("kernel has no overlayfs")
	}
	return openDriver(t, opts)
}

func canMount() bool {
	b, err := os.ReadFile("/proc/filesystems")
	return os.Geteuid() == 0 && err == nil && bytes.Contains(b, []byte("overlay"))
}

func openDriver(t *testing.T, opts []string, o ...Option) *Driver {
	t.Helper()
	d, err := New(t.TempDir(), opts, o...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Cleanup(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return d
}

func get(t *testing.T, d *Driver, id string) string {
	t.Helper()
	p, err := d.Get(id, "")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func put(t *testing.T, d *Driver, id string) {
	t.Helper()
	if err := d.Put(id); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, d *Driver, id, name string, data []byte) {
	t.Helper()
	root := get(t, d, id)
	defer put(t, d, id)
	if err := os.MkdirAll(filepath.Dir(filepath.Join(root, name)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, d *Driver, id, name string) ([]byte, error) {
	t.Helper()
	root := get(t, d, id)
	defer put(t, d, id)
	return os.ReadFile(filepath.Join(root, name))
}

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		opts []string
		ok   bool
	}{
		{nil, true}, {[]string{"size=10G"}, true}, {[]string{"SIZE=1.5k"}, true},
		{[]string{"size=-1"}, false}, {[]string{"size=10Q"}, false}, {[]string{"bogus=1"}, false}, {[]string{"size"}, false},
	} {
		_, err := New(t.TempDir(), tc.opts)
		if (err == nil) != tc.ok {
			t.Errorf("New(%v): %v", tc.opts, err)
		}
	}
	d, err := New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.String() != "windowsfilter" || d.Status()[0] != [2]string{"Windows", ""} || d.defaultSize != 136365211648 {
		t.Fatalf("String %q Status %v size %d", d.String(), d.Status(), d.defaultSize)
	}
}

// TestCreateEmpty: a new layer's view is an empty 0755 root-owned directory
// with no bookkeeping in it.
func TestCreateEmpty(t *testing.T) {
	d := newRealDriver(t)
	if err := d.Create("empty", "", nil); err != nil {
		t.Fatal(err)
	}
	if !d.Exists("empty") || d.Exists("nope") {
		t.Fatal("Exists is wrong")
	}
	root := get(t, d, "empty")
	defer put(t, d, "empty")
	fi, err := os.Stat(root)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if fi.Mode() != os.ModeDir|0o755 || st.Uid != 0 || st.Gid != 0 {
		t.Fatalf("view root: mode %v owner %d:%d", fi.Mode(), st.Uid, st.Gid)
	}
	des, _ := os.ReadDir(root)
	if len(des) != 0 {
		t.Fatalf("view of an empty layer has %d entries", len(des))
	}
	if m, _ := d.GetMetadata("empty"); m["dir"] != d.dir("empty") {
		t.Fatalf("GetMetadata %v", m)
	}
}

// TestUnixMetadataSurvives: modes, sticky, setuid and owners written
// through a view show in the layer and its children.
func TestUnixMetadataSurvives(t *testing.T) {
	d := newRealDriver(t)
	old := unix.Umask(0)
	defer unix.Umask(old)
	if err := d.CreateReadWrite("Base", "", nil); err != nil {
		t.Fatal(err)
	}
	root := get(t, d, "Base")
	sub := filepath.Join(root, "a subdir")
	if err := os.Mkdir(sub, 0o705|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(sub, 1, 2); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "a file"), []byte("Some data"), 0o222|os.ModeSetuid); err != nil {
		t.Fatal(err)
	}
	put(t, d, "Base")
	if err := d.Create("Snap", "Base", nil); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"Base", "Snap"} {
		root := get(t, d, id)
		fi, err := os.Stat(filepath.Join(root, "a subdir"))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode() != os.ModeDir|os.ModeSticky|0o705 || st.Uid != 1 || st.Gid != 2 {
			t.Errorf("%s: subdir mode %v owner %d:%d", id, fi.Mode(), st.Uid, st.Gid)
		}
		fi, err = os.Stat(filepath.Join(root, "a file"))
		if err != nil || fi.Mode() != os.ModeSetuid|0o222 {
			t.Errorf("%s: file mode %v (%v)", id, fi.Mode(), err)
		}
		put(t, d, id)
	}
}

// TestDeepChain: a chain of 129 layers mounts and reads the base's file.
func TestDeepChain(t *testing.T) {
	d := newDriver(t)
	if err := d.Create("l0", "", nil); err != nil {
		t.Fatal(err)
	}
	writeFile(t, d, "l0", "testfile.txt", []byte("test content"))
	for i := 1; i <= 128; i++ {
		if err := d.Create(fmt.Sprintf("l%d", i), fmt.Sprintf("l%d", i-1), nil); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, d, "l128", "top", []byte("top"))
	b, err := readFile(t, d, "l128", "testfile.txt")
	if err != nil || string(b) != "test content" {
		t.Fatalf("read through 129 layers: %q %v", b, err)
	}
}

// TestDiffApplyChanges: the changes of a layer are exact; its Diff applied
// on a sibling reproduces it, deletions of a file and of a directory tree
// included; ApplyDiff's size equals DiffSize.
func TestDiffApplyChanges(t *testing.T) {
	for _, reexec := range []bool{true, false} {
		t.Run(fmt.Sprintf("reexec=%v", reexec), func(t *testing.T) {
			old := noReexec
			noReexec = !reexec
			defer func() { noReexec = old }()
			d := newDriver(t)
			if err := d.Create("base", "", nil); err != nil {
				t.Fatal(err)
			}
			writeFile(t, d, "base", "keep.txt", []byte("keep"))
			writeFile(t, d, "base", "change.txt", []byte("old"))
			writeFile(t, d, "base", "remove.txt", []byte("remove me"))
			writeFile(t, d, "base", "var/lib/deep/x", []byte("x"))
			if err := d.Create("upper", "base", nil); err != nil {
				t.Fatal(err)
			}
			root := get(t, d, "upper")
			must(t, os.WriteFile(filepath.Join(root, "change.txt"), []byte("new content"), 0o644))
			must(t, os.WriteFile(filepath.Join(root, "added.txt"), []byte("added"), 0o644))
			must(t, os.Remove(filepath.Join(root, "remove.txt")))
			must(t, os.RemoveAll(filepath.Join(root, "var/lib")))
			must(t, os.MkdirAll(filepath.Join(root, "newdir"), 0o755))
			must(t, os.WriteFile(filepath.Join(root, "newdir/f"), []byte("f"), 0o644))
			put(t, d, "upper")

			changes, err := d.Changes("upper", "base")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range changes {
				got = append(got, c.Kind.String()+" "+c.Path)
			}
			sort.Strings(got)
			want := []string{"A /added.txt", "A /newdir", "A /newdir/f", "C /change.txt", "C /var", "D /remove.txt", "D /var/lib"}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("changes %v, want %v", got, want)
			}
			diffSize, err := d.DiffSize("upper", "")
			if err != nil {
				t.Fatal(err)
			}
			rc, err := d.Diff("upper", "base")
			if err != nil {
				t.Fatal(err)
			}
			tarBytes, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Create("diff", "base", nil); err != nil {
				t.Fatal(err)
			}
			size, err := d.ApplyDiff("diff", "base", bytes.NewReader(tarBytes))
			if err != nil {
				t.Fatal(err)
			}
			if size != diffSize || size != int64(len("new content")+len("added")+len("f")) {
				t.Fatalf("ApplyDiff size %d, DiffSize %d", size, diffSize)
			}
			for name, want := range map[string]string{"keep.txt": "keep", "change.txt": "new content", "added.txt": "added", "newdir/f": "f"} {
				if b, err := readFile(t, d, "diff", name); err != nil || string(b) != want {
					t.Errorf("%s: %q %v, want %q", name, b, err, want)
				}
			}
			for _, gone := range []string{"remove.txt", "var/lib", "var/lib/deep/x"} {
				if _, err := readFile(t, d, "diff", gone); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s still visible: %v", gone, err)
				}
			}
			// The applied layer's Diff is the very tar applied.
			rc, err = d.Diff("diff", "base")
			if err != nil {
				t.Fatal(err)
			}
			again, _ := io.ReadAll(rc)
			rc.Close()
			if !bytes.Equal(again, tarBytes) {
				t.Fatal("Diff of an applied layer is not the applied tar")
			}
			// ApplyDiff with parent "" keeps the chain written by Create.
			if err := d.Create("keepchain", "base", nil); err != nil {
				t.Fatal(err)
			}
			if _, err := d.ApplyDiff("keepchain", "", bytes.NewReader(tarBytes)); err != nil {
				t.Fatal(err)
			}
			if b, err := readFile(t, d, "keepchain", "keep.txt"); err != nil || string(b) != "keep" {
				t.Fatalf("ApplyDiff(id, \"\") lost the parent chain: %q %v", b, err)
			}
		})
	}
}

// TestSandboxSize: writes past a sandbox's size fail with ENOSPC or EDQUOT.
func TestSandboxSize(t *testing.T) {
	d := newRealDriver(t)
	if err := d.Create("base", "", nil); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateReadWrite("sb", "base", &CreateOpts{StorageOpt: map[string]string{"size": "50M"}}); err != nil {
		if errors.Is(err, ErrSizeLimitUnsupported) {
			t.Skipf("no loop devices here: %v", err)
		}
		t.Fatal(err)
	}
	root := get(t, d, "sb")
	defer put(t, d, "sb")
	small := make([]byte, 25<<20)
	rand.Read(small)
	if err := os.WriteFile(filepath.Join(root, "small"), small, 0o644); err != nil {
		t.Fatalf("write under the limit: %v", err)
	}
	big := make([]byte, 50<<20)
	rand.Read(big)
	err := os.WriteFile(filepath.Join(root, "big"), big, 0o644)
	if !errors.Is(err, unix.ENOSPC) && !errors.Is(err, unix.EDQUOT) {
		t.Fatalf("write past the limit: %v, want ENOSPC or EDQUOT", err)
	}
}

// TestExpandSandbox: a sandbox's limit can be raised while it is in use.
func TestExpandSandbox(t *testing.T) {
	d := newRealDriver(t)
	if err := d.CreateReadWrite("sb", "", &CreateOpts{StorageOpt: map[string]string{"size": "40M"}}); err != nil {
		if errors.Is(err, ErrSizeLimitUnsupported) {
			t.Skipf("no loop devices here: %v", err)
		}
		t.Fatal(err)
	}
	root := get(t, d, "sb")
	data := make([]byte, 60<<20)
	rand.Read(data)
	if err := os.WriteFile(filepath.Join(root, "f"), data, 0o644); !errors.Is(err, unix.ENOSPC) {
		t.Fatalf("60M into a 40M sandbox: %v, want ENOSPC", err)
	}
	must(t, os.Remove(filepath.Join(root, "f")))
	must(t, os.WriteFile(filepath.Join(root, "keep"), []byte("kept"), 0o644))
	if err := d.ExpandSandboxSize("sb", 100<<20); !errors.Is(err, layer.ErrInUse) {
		t.Fatalf("expand while mounted: %v, want ErrInUse", err)
	}
	put(t, d, "sb")
	if err := d.ExpandSandboxSize("sb", 100<<20); err != nil {
		t.Fatal(err)
	}
	root = get(t, d, "sb")
	defer put(t, d, "sb")
	if b, err := os.ReadFile(filepath.Join(root, "keep")); err != nil || string(b) != "kept" {
		t.Fatalf("content lost by growing: %q %v", b, err)
	}
	if err := os.WriteFile(filepath.Join(root, "f"), data, 0o644); err != nil {
		t.Fatalf("60M after growing to 100M: %v", err)
	}
	if err := d.Create("ro", "", nil); err != nil {
		t.Fatal(err)
	}
	if err := d.ExpandSandboxSize("ro", 1<<30); !errors.Is(err, ErrSizeLimitUnsupported) {
		t.Fatalf("expand a read-only layer: %v", err)
	}
}

// TestApplyDiffKilled kills the ApplyDiff child (SIGKILL, through the
// store's fault points) at every point of its import and commit: the layer
// stays as Create made it until the import is complete, a new driver's
// Cleanup removes the debris, and ApplyDiff then succeeds.
func TestApplyDiffKilled(t *testing.T) {
	d := newDriver(t)
	if err := d.Create("src", "", nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		writeFile(t, d, "src", fmt.Sprintf("dir/f%d", i), bytes.Repeat([]byte{byte(i)}, 3000*i))
	}
	rc, err := d.Diff("src", "")
	if err != nil {
		t.Fatal(err)
	}
	tarBytes, _ := io.ReadAll(rc)
	rc.Close()
	if err := d.Create("target", "", nil); err != nil {
		t.Fatal(err)
	}
	killed, newer := 0, 0
	for at := 1; ; at++ {
		t.Setenv("WINLAYER_FAULT_AT", fmt.Sprint(at))
		_, err := d.ApplyDiff("target", "", bytes.NewReader(tarBytes))
		if err == nil {
			break // the child got through all its fault points
		}
		if !strings.Contains(err.Error(), "killed") {
			t.Fatalf("fault point %d: %v", at, err)
		}
		killed++
		if d.store.IsDirty("target") {
			// Still the layer Create made.
			if es, _, err := d.store.Entries(context.Background(), "target"); err != nil || len(es) != 0 {
				t.Fatalf("fault point %d: %d entries, %v", at, len(es), err)
			}
		} else {
			// Killed after the atomic exchange: the new layer, complete.
			newer++
			rc, err := d.Diff("target", "")
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			if !bytes.Equal(got, tarBytes) {
				t.Fatalf("fault point %d: the layer is neither the old nor the complete new one", at)
			}
			// Back to the old state for the next point.
			if err := d.Remove("target"); err != nil {
				t.Fatal(err)
			}
			if err := d.Create("target", "", nil); err != nil {
				t.Fatal(err)
			}
		}
		d2, err := New(d.home, nil)
		if err != nil {
			t.Fatal(err)
		}
		if left, _ := os.ReadDir(filepath.Join(d.home, ".staging")); len(left) != 0 {
			t.Fatalf("fault point %d: %d staging directories left after New", at, len(left))
		}
		_ = d2
	}
	if killed < 20 {
		t.Fatalf("only %d kill points", killed)
	}
	t.Logf("ApplyDiff child killed at %d points: %d times the old layer, %d times the complete new one", killed, killed-newer, newer)
	rc, err = d.Diff("target", "")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, tarBytes) {
		t.Fatal("after the kills, ApplyDiff did not give the applied tar back")
	}
}

// TestConcurrentGetPut hammers Get/Put/Create/Remove on shared and distinct ids.
func TestConcurrentGetPut(t *testing.T) {
	d := newDriver(t)
	if err := d.Create("shared", "", nil); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	paths := make(chan string, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				p, err := d.Get("shared", "")
				if err != nil {
					t.Error(err)
					return
				}
				paths <- p
				if err := d.Put("shared"); err != nil {
					t.Error(err)
				}
				id := fmt.Sprintf("own-%d-%d", g, i)
				if err := d.Create(id, "shared", nil); err != nil {
					t.Error(err)
					return
				}
				if _, err := d.Get(id, ""); err != nil {
					t.Error(err)
				}
				d.Put(id)
				if err := d.Remove(id); err != nil {
					t.Error(err)
				}
			}
		}(g)
	}
	go func() { wg.Wait(); close(paths) }()
	first := ""
	for p := range paths {
		if first == "" {
			first = p
		}
		if p != first || p == "" {
			t.Fatalf("Get returned %q and %q", first, p)
		}
	}
}

// TestRemoveRepair: a removal interrupted after its rename is finished by
// the next New + Cleanup; Remove of an unknown id is nil.
func TestRemoveRepair(t *testing.T) {
	d := newDriver(t)
	if err := d.Create("x", "", nil); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(d.dir("x"), d.dir("x")+"-removing"); err != nil {
		t.Fatal(err)
	}
	d2, err := New(d.home, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d2.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d.dir("x") + "-removing"); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("-removing left after Cleanup")
	}
	if err := d2.Remove("never"); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestChainsThroughDriver: Create on a parent stores the parent's whole
// chain, and Remove of a parent other layers name removes it, as moby
// expects of a graph driver (its layer store counts references); the
// store's ls then shows the parent missing.
func TestChainsThroughDriver(t *testing.T) {
	d := newDriver(t)
	for _, l := range [][2]string{{"base", ""}, {"mid", "base"}, {"top", "mid"}} {
		if err := d.Create(l[0], l[1], nil); err != nil {
			t.Fatal(err)
		}
	}
	chain, err := layer.ReadChain(d.dir("top"))
	if want := []string{d.dir("mid"), d.dir("base")}; err != nil || strings.Join(chain, ",") != strings.Join(want, ",") {
		t.Fatalf("top's chain %v, %v, want %v", chain, err, want)
	}
	if err := d.Remove("base"); err != nil || d.Exists("base") {
		t.Fatalf("Remove of a parent: %v (exists %v)", err, d.Exists("base"))
	}
	infos, err := d.store.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range infos {
		if strings.Join(in.MissingParents, ",") != "base" {
			t.Errorf("layer %s: missing parents %v, want [base]", in.ID, in.MissingParents)
		}
	}
}
