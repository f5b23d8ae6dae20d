package drivertest

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/winlayer/winlayer/driver"
	"github.com/winlayer/winlayer/layer"
	"github.com/winlayer/winlayer/layer/layertest"
)

// NewDriver opens a driver over home for the suite; the suite calls it
// again on the same home to check what survives a restart. It must not
// skip: a backend that cannot run here skips before calling [Suite].
type NewDriver func(t *testing.T, home string) *driver.Driver

// Suite runs the driver conformance tests against drivers newDriver
// opens, each subtest in a fresh home. Writes made through a view are
// checked after the view is put (a backend may copy them back only then,
// as [FakeMounter] does). Programs running it call [driver.ReexecInit]
// first in TestMain (ApplyDiff re-executes the test binary).
func Suite(t *testing.T, newDriver NewDriver) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, *harness)
	}{
		{"CreateEmpty", testCreateEmpty},
		{"CreateChain", testCreateChain},
		{"GetPutNesting", testGetPutNesting},
		{"ExistsAndNotExist", testExistsAndNotExist},
		{"ApplyDiffGenerated", testApplyDiffGenerated},
		{"ApplyDiffWhiteout", testApplyDiffWhiteout},
		{"ApplyDiffInvalid", testApplyDiffInvalid},
		{"ChangesThroughView", testChangesThroughView},
		{"DiffRoundTrip", testDiffRoundTrip},
		{"DiffSize", testDiffSize},
		{"Sandbox", testSandbox},
		{"RemoveMounted", testRemoveMounted},
		{"RemoveRepair", testRemoveRepair},
		{"Reopen", testReopen},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			h := &harness{t: t, home: home, open: newDriver}
			h.d = h.reopen()
			tc.fn(t, h)
		})
	}
}

// harness is one subtest's driver and home.
type harness struct {
	t    *testing.T
	home string
	open NewDriver
	d    *driver.Driver
}

// reopen opens another driver over the same home, cleaned up at the end.
func (h *harness) reopen() *driver.Driver {
	h.t.Helper()
	d := h.open(h.t, h.home)
	h.t.Cleanup(func() {
		if err := d.Cleanup(); err != nil {
			h.t.Errorf("cleanup: %v", err)
		}
	})
	return d
}

func (h *harness) must(err error) {
	h.t.Helper()
	if err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) get(id string) string {
	h.t.Helper()
	p, err := h.d.Get(id, "")
	if err != nil {
		h.t.Fatalf("Get(%s): %v", id, err)
	}
	return p
}

func (h *harness) put(id string) {
	h.t.Helper()
	if err := h.d.Put(id); err != nil {
		h.t.Fatalf("Put(%s): %v", id, err)
	}
}

// write writes files (slash names relative to the view) through id's view.
func (h *harness) write(id string, files map[string]string) {
	h.t.Helper()
	root := h.get(id)
	for name, data := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		h.must(os.MkdirAll(filepath.Dir(p), 0o755))
		h.must(os.WriteFile(p, []byte(data), 0o644))
	}
	h.put(id)
}

// read returns the content of name through id's view.
func (h *harness) read(id, name string) (string, error) {
	h.t.Helper()
	root := h.get(id)
	defer h.put(id)
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
	return string(b), err
}

// tree lists id's view: "name" for directories, "name=content" for files.
func (h *harness) tree(id string) string {
	h.t.Helper()
	root := h.get(id)
	defer h.put(id)
	var out []string
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." || strings.HasPrefix(rel, "lost+found") {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if de.IsDir() {
			out = append(out, rel+"/")
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out = append(out, rel+"="+string(b))
		return nil
	})
	h.must(err)
	sort.Strings(out)
	return strings.Join(out, " ")
}

func (h *harness) changes(id string) string {
	h.t.Helper()
	cs, err := h.d.Changes(id, "")
	if err != nil {
		h.t.Fatalf("Changes(%s): %v", id, err)
	}
	var out []string
	for _, c := range cs {
		out = append(out, c.Kind.String()+" "+c.Path)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func (h *harness) diff(id string) []byte {
	h.t.Helper()
	rc, err := h.d.Diff(id, "")
	if err != nil {
		h.t.Fatalf("Diff(%s): %v", id, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		h.t.Fatalf("Diff(%s): %v", id, err)
	}
	return b
}

// tarNames lists the entries of a tar as "name" or "name=content".
func tarNames(t *testing.T, b []byte) string {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(b))
	var out []string
	for {
		hd, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.ReplaceAll(hd.Name, `\`, "/")
		if hd.Typeflag == tar.TypeReg && hd.Size > 0 {
			data, _ := io.ReadAll(tr)
			name += "=" + string(data)
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// generated is a base layer tar built with layertest.
func generated() []byte {
	return layertest.Tar(layertest.Dir("Files"), layertest.File("Files/a.txt", []byte("alpha")),
		layertest.Dir("Files/dir"), layertest.File("Files/dir/b.bin", []byte("bravo!")),
		layertest.Dir("Hives"), layertest.File("Hives/System_Delta", layertest.Bytes(1, 100)))
}

func testCreateEmpty(t *testing.T, h *harness) {
	h.must(h.d.Create("empty", "", nil))
	root := h.get("empty")
	des, err := os.ReadDir(root)
	h.must(err)
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	h.put("empty")
	if len(names) != 0 {
		t.Fatalf("new layer's view holds %v", names)
	}
	if err := h.d.Create("empty", "", nil); !errors.Is(err, layer.ErrExists) {
		t.Fatalf("second Create: %v, want ErrExists", err)
	}
}

func testCreateChain(t *testing.T, h *harness) {
	h.must(h.d.Create("base", "", nil))
	h.write("base", map[string]string{"x": "base", "only-base": "b"})
	h.must(h.d.Create("mid", "base", nil))
	h.write("mid", map[string]string{"x": "mid", "only-mid": "m"})
	h.must(h.d.Create("top", "mid", nil))
	h.write("top", map[string]string{"only-top": "t"})
	if got, want := h.tree("top"), "only-base=b only-mid=m only-top=t x=mid"; got != want {
		t.Fatalf("top's view: %s, want %s", got, want)
	}
	if got, want := h.tree("mid"), "only-base=b only-mid=m x=mid"; got != want {
		t.Fatalf("mid's view: %s, want %s", got, want)
	}
	chain, err := layer.ReadChain(h.d.Store().Dir("top"))
	h.must(err)
	if want := []string{h.d.Store().Dir("mid"), h.d.Store().Dir("base")}; strings.Join(chain, ",") != strings.Join(want, ",") {
		t.Fatalf("top's chain %v, want %v", chain, want)
	}
	if err := h.d.Create("orphan", "nope", nil); !errors.Is(err, layer.ErrNotExist) {
		t.Fatalf("Create on a missing parent: %v, want ErrNotExist", err)
	}
}

func testGetPutNesting(t *testing.T, h *harness) {
	h.must(h.d.Create("base", "", nil))
	h.write("base", map[string]string{"f": "1"})
	h.must(h.d.Create("l", "base", nil))
	p1 := h.get("l")
	p2 := h.get("l")
	if p1 != p2 {
		t.Fatalf("nested Get: %q then %q", p1, p2)
	}
	h.must(os.WriteFile(filepath.Join(p1, "g"), []byte("2"), 0o644))
	h.put("l")
	// Still held once: the view is still there.
	if b, err := os.ReadFile(filepath.Join(p2, "f")); err != nil || string(b) != "1" {
		t.Fatalf("view after one of two Puts: %q %v", b, err)
	}
	h.put("l")
	if err := h.d.Put("l"); err != nil {
		t.Fatalf("extra Put: %v", err)
	}
	if err := h.d.Put("never-got"); err != nil {
		t.Fatalf("Put of an unknown id: %v", err)
	}
	if got, want := h.changes("l"), "A /g"; got != want {
		t.Fatalf("changes after the last Put: %s, want %s", got, want)
	}
	// A new Get after the last Put mounts again and sees the write.
	if s, err := h.read("l", "g"); err != nil || s != "2" {
		t.Fatalf("g after remount: %q %v", s, err)
	}
}

func testExistsAndNotExist(t *testing.T, h *harness) {
	if h.d.Exists("nope") {
		t.Fatal("Exists(nope) before anything")
	}
	h.must(h.d.Create("a", "", nil))
	if !h.d.Exists("a") || h.d.Exists("b") {
		t.Fatal("Exists wrong after Create")
	}
	if _, err := h.d.Get("nope", ""); !errors.Is(err, layer.ErrNotExist) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Get(nope): %v, want ErrNotExist (and fs.ErrNotExist)", err)
	}
	if _, err := h.d.Changes("nope", ""); !errors.Is(err, layer.ErrNotExist) {
		t.Fatalf("Changes(nope): %v, want ErrNotExist", err)
	}
	if err := h.d.Remove("nope"); err != nil {
		t.Fatalf("Remove(nope): %v", err)
	}
	h.must(h.d.Remove("a"))
	if h.d.Exists("a") {
		t.Fatal("Exists after Remove")
	}
}

func testApplyDiffGenerated(t *testing.T, h *harness) {
	h.must(h.d.Create("base", "", nil))
	tb := generated()
	size, err := h.d.ApplyDiff("base", "", bytes.NewReader(tb))
	h.must(err)
	if want := int64(len("alpha") + len("bravo!") + 100); size != want {
		t.Fatalf("ApplyDiff size %d, want %d", size, want)
	}
	if got, want := h.tree("base"), "a.txt=alpha dir/ dir/b.bin=bravo!"; got != want {
		t.Fatalf("view: %s, want %s", got, want)
	}
	if !bytes.Equal(h.diff("base"), tb) {
		t.Fatal("Diff of an applied layer is not the applied tar")
	}
	if n, err := h.d.DiffSize("base", ""); err != nil || n != size {
		t.Fatalf("DiffSize %d %v, want %d", n, err, size)
	}
	if got, want := h.changes("base"), "A /a.txt,A /dir,A /dir/b.bin"; got != want {
		t.Fatalf("changes %s, want %s", got, want)
	}
	// An imported layer's view is read-only: its Diff stays the bytes.
	root := h.get("base")
	werr := os.WriteFile(filepath.Join(root, "a.txt"), []byte("changed"), 0o644)
	h.put("base")
	if werr == nil && !bytes.Equal(h.diff("base"), tb) {
		t.Fatal("a write through an imported layer's view changed its Diff")
	}
}

func testApplyDiffWhiteout(t *testing.T, h *harness) {
	h.must(h.d.Create("base", "", nil))
	_, err := h.d.ApplyDiff("base", "", bytes.NewReader(generated()))
	h.must(err)
	h.must(h.d.Create("child", "base", nil))
	tb := layertest.Tar(layertest.Dir("Files"), layertest.Entry{Name: "Files/.wh.a.txt", NoMeta: true},
		layertest.File("Files/c.txt", []byte("charlie")))
	_, err = h.d.ApplyDiff("child", "base", bytes.NewReader(tb))
	h.must(err)
	if got, want := h.tree("child"), "c.txt=charlie dir/ dir/b.bin=bravo!"; got != want {
		t.Fatalf("child's view: %s, want %s", got, want)
	}
	if !bytes.Equal(h.diff("child"), tb) {
		t.Fatal("Diff of the child is not its tar")
	}
}

func testApplyDiffInvalid(t *testing.T, h *harness) {
	h.must(h.d.Create("l", "", nil))
	good := generated()
	_, err := h.d.ApplyDiff("l", "", bytes.NewReader(good))
	h.must(err)
	for _, tc := range []struct {
		name string
		tar  []byte
	}{
		{"dotdot", layertest.Tar(layertest.Dir("Files"), layertest.File("Files/../../evil", []byte("x")))},
		{"duplicate", layertest.Tar(layertest.Dir("Files"), layertest.File("Files/a", []byte("1")), layertest.File("Files/a", []byte("2")))},
	} {
		_, err := h.d.ApplyDiff("l", "", bytes.NewReader(tc.tar))
		if !errors.Is(err, layer.ErrInvalidEntry) {
			t.Errorf("%s: ApplyDiff: %v, want ErrInvalidEntry", tc.name, err)
		}
	}
	if !bytes.Equal(h.diff("l"), good) {
		t.Fatal("a refused ApplyDiff changed the layer")
	}
	if _, err := os.Stat(filepath.Join(h.home, "evil")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("a refused tar wrote outside the layer")
	}
}

// changed makes layer "upper" on "base" and changes it through its view.
func (h *harness) changed() {
	h.must(h.d.Create("base", "", nil))
	h.write("base", map[string]string{"keep.txt": "keep", "change.txt": "old", "remove.txt": "remove me", "var/lib/deep/x": "x"})
	h.must(h.d.Create("upper", "base", nil))
	root := h.get("upper")
	h.must(os.WriteFile(filepath.Join(root, "change.txt"), []byte("new content"), 0o644))
	h.must(os.WriteFile(filepath.Join(root, "added.txt"), []byte("added"), 0o644))
	h.must(os.Remove(filepath.Join(root, "remove.txt")))
	h.must(os.RemoveAll(filepath.Join(root, "var/lib")))
	h.must(os.MkdirAll(filepath.Join(root, "newdir"), 0o755))
	h.must(os.WriteFile(filepath.Join(root, "newdir/f"), []byte("f"), 0o644))
	h.put("upper")
}

func testChangesThroughView(t *testing.T, h *harness) {
	h.changed()
	want := "A /added.txt,A /newdir,A /newdir/f,C /change.txt,C /var,D /remove.txt,D /var/lib"
	if got := h.changes("upper"); got != want {
		t.Fatalf("changes %s, want %s", got, want)
	}
	if got, want := h.tree("upper"), "added.txt=added change.txt=new content keep.txt=keep newdir/ newdir/f=f var/"; got != want {
		t.Fatalf("view %s, want %s", got, want)
	}
}

func testDiffRoundTrip(t *testing.T, h *harness) {
	h.changed()
	tb := h.diff("upper")
	names := tarNames(t, tb)
	for _, want := range []string{"Files/added.txt=added", "Files/change.txt=new content", "Files/.wh.remove.txt", "Files/var/.wh.lib", "Files/newdir/f=f"} {
		if !strings.Contains(" "+names+" ", " "+want+" ") {
			t.Errorf("Diff lacks %s: %s", want, names)
		}
	}
	h.must(h.d.Create("applied", "base", nil))
	_, err := h.d.ApplyDiff("applied", "base", bytes.NewReader(tb))
	h.must(err)
	if got, want := h.tree("applied"), h.tree("upper"); got != want {
		t.Fatalf("ApplyDiff of upper's Diff shows %s, want %s", got, want)
	}
	if !bytes.Equal(h.diff("applied"), tb) {
		t.Fatal("Diff of the applied layer is not the applied tar")
	}
}

func testDiffSize(t *testing.T, h *harness) {
	h.changed()
	n, err := h.d.DiffSize("upper", "")
	h.must(err)
	if want := int64(len("new content") + len("added") + len("f")); n != want {
		t.Fatalf("DiffSize %d, want %d", n, want)
	}
	h.must(h.d.Create("applied", "base", nil))
	size, err := h.d.ApplyDiff("applied", "base", bytes.NewReader(h.diff("upper")))
	h.must(err)
	if size != n {
		t.Fatalf("ApplyDiff of the Diff returned %d, DiffSize %d", size, n)
	}
}

func testSandbox(t *testing.T, h *harness) {
	h.must(h.d.Create("base", "", nil))
	h.write("base", map[string]string{"gone.txt": "delete me", "kept.txt": "kept"})
	if err := h.d.CreateReadWrite("sb", "base", &driver.CreateOpts{StorageOpt: map[string]string{"size": "64M"}}); err != nil {
		if errors.Is(err, driver.ErrSizeLimitUnsupported) {
			t.Skipf("this backend cannot make sandboxes here: %v", err)
		}
		t.Fatal(err)
	}
	root := h.get("sb")
	h.must(os.WriteFile(filepath.Join(root, "new.txt"), []byte("hello sandbox"), 0o644))
	h.must(os.Remove(filepath.Join(root, "gone.txt")))
	h.put("sb")
	check := func(d *driver.Driver) {
		t.Helper()
		cs, err := d.Changes("sb", "base")
		h.must(err)
		var got []string
		for _, c := range cs {
			got = append(got, c.Kind.String()+" "+c.Path)
		}
		sort.Strings(got)
		if want := "A /new.txt,D /gone.txt"; strings.Join(got, ",") != want {
			t.Fatalf("changes %v, want %s", got, want)
		}
		rc, err := d.Diff("sb", "base")
		h.must(err)
		b, err := io.ReadAll(rc)
		rc.Close()
		h.must(err)
		names := tarNames(t, b)
		if !strings.Contains(names, "Files/new.txt=hello sandbox") || !strings.Contains(names, "Files/.wh.gone.txt") {
			t.Fatalf("Diff: %s", names)
		}
	}
	check(h.d)
	// The sandbox layout is the store's: a committed layer, no debris.
	if des, err := os.ReadDir(filepath.Join(h.home, ".staging")); err == nil {
		for _, de := range des {
			t.Errorf("staging holds %s after CreateReadWrite", de.Name())
		}
	}
	h.must(h.d.Cleanup())
	h.d = h.reopen()
	check(h.d)
	if got, want := h.tree("sb"), "kept.txt=kept new.txt=hello sandbox"; got != want {
		t.Fatalf("reopened sandbox view %s, want %s", got, want)
	}
}

func testRemoveMounted(t *testing.T, h *harness) {
	h.must(h.d.Create("base", "", nil))
	h.must(h.d.Create("l", "base", nil))
	h.get("l")
	h.must(h.d.Remove("l"))
	if h.d.Exists("l") {
		t.Fatal("Exists after Remove of a mounted layer")
	}
	if err := h.d.Put("l"); err != nil {
		t.Fatalf("Put after Remove: %v", err)
	}
	// A removed id can be created again.
	h.must(h.d.Create("l", "base", nil))
	h.write("l", map[string]string{"f": "again"})
	if s, err := h.read("l", "f"); err != nil || s != "again" {
		t.Fatalf("recreated layer: %q %v", s, err)
	}
}

func testRemoveRepair(t *testing.T, h *harness) {
	h.must(h.d.Create("x", "", nil))
	h.write("x", map[string]string{"f": "1"})
	dir := h.d.Store().Dir("x")
	// A removal interrupted after its rename (the process died): the
	// next driver over the home finishes it.
	h.must(os.Rename(dir, dir+"-removing"))
	h.d = h.reopen()
	if h.d.Exists("x") {
		t.Fatal("a -removing layer exists for a new driver")
	}
	h.must(h.d.Cleanup())
	if _, err := os.Stat(dir + "-removing"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("-removing left after reopen and Cleanup: %v", err)
	}
	if h.d.Exists("x") {
		t.Fatal("x exists after the repair")
	}
	h.must(h.d.Create("x", "", nil))
}

func testReopen(t *testing.T, h *harness) {
	h.must(h.d.Create("base", "", nil))
	_, err := h.d.ApplyDiff("base", "", bytes.NewReader(generated()))
	h.must(err)
	h.must(h.d.Create("w", "base", nil))
	h.write("w", map[string]string{"w.txt": "written"})
	h.get("w") // left mounted: Cleanup must release it
	h.must(h.d.Cleanup())
	h.d = h.reopen()
	if got, want := h.tree("w"), "a.txt=alpha dir/ dir/b.bin=bravo! w.txt=written"; got != want {
		t.Fatalf("after reopen: %s, want %s", got, want)
	}
	if got, want := h.changes("w"), "A /w.txt"; got != want {
		t.Fatalf("changes after reopen %s, want %s", got, want)
	}
}
