package layer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/winlayer/winlayer/layer/layertest"
)

// fakeFormat makes a sandbox image as a plain file and counts its calls.
func fakeFormat(calls *int) SandboxFormatter {
	return func(image string, size int64) error {
		*calls++
		return os.WriteFile(image, []byte("image"), 0o600)
	}
}

// TestView: the plan of a view for an imported layer (read-only, own
// Files first), a created one on it (writable, work beside its Files), a
// sandbox (Files on the sandbox's mount point, its sandbox listed first)
// and a layer that is not there.
func TestView(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tb := layertest.Tar(layertest.Dir("Files"), layertest.File("Files/a", []byte("a")))
	if _, err := s.Import(ctx, "base", nil, bytes.NewReader(tb)); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(context.Background(), "rw", []string{s.Dir("base")}); err != nil {
		t.Fatal(err)
	}
	var calls int
	if err := s.Create(context.Background(), "sb", []string{s.Dir("rw")}, WithSandbox(1<<20, fakeFormat(&calls))); err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Fatalf("format called %d times", calls)
	}
	files := func(id string) string { return filepath.Join(s.Dir(id), "Files") }
	sbFiles := filepath.Join(s.Dir("sb"), ".winlayer", "sandbox", "Files")
	for _, tc := range []struct {
		id   string
		want View
	}{
		{"base", View{ID: "base", Dir: s.Dir("base"), Lower: []string{files("base")}, ReadOnly: true}},
		{"rw", View{ID: "rw", Dir: s.Dir("rw"), Parents: []string{s.Dir("base")}, Lower: []string{files("base")},
			Upper: files("rw"), Work: filepath.Join(s.Dir("rw"), ".work-rw")}},
		{"sb", View{ID: "sb", Dir: s.Dir("sb"), Parents: []string{s.Dir("rw"), s.Dir("base")}, Lower: []string{files("rw"), files("base")},
			Upper: sbFiles, Work: filepath.Join(filepath.Dir(sbFiles), ".work-sb"),
			Sandboxes: []Sandbox{{ID: "sb", Image: filepath.Join(s.Dir("sb"), ".winlayer", "sandbox.img"), Dir: filepath.Dir(sbFiles)}}}},
	} {
		got, err := s.View(context.Background(), tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if show(got) != show(tc.want) {
			t.Errorf("View(%s):\n got %s\nwant %s", tc.id, show(got), show(tc.want))
		}
	}
	// The sandbox's Files is the store's link, made before the commit;
	// the placeholder under the mount point is a directory.
	if link, err := os.Readlink(files("sb")); err != nil || filepath.ToSlash(link) != SandboxFilesLink {
		t.Fatalf("sandbox Files link: %q %v", link, err)
	}
	if fi, err := os.Stat(sbFiles); err != nil || !fi.IsDir() {
		t.Fatalf("sandbox Files: %v", err)
	}
	if _, err := s.View(context.Background(), "nope"); !errors.Is(err, ErrNotExist) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("View(nope): %v, want ErrNotExist and fs.ErrNotExist", err)
	}
}

func show(v View) string {
	return strings.Join([]string{v.ID, v.Dir, strings.Join(v.Parents, ","), strings.Join(v.Lower, ","), v.Upper, v.Work,
		map[bool]string{true: "ro", false: "rw"}[v.ReadOnly], func() string {
			var b []string
			for _, sb := range v.Sandboxes {
				b = append(b, sb.ID+"="+sb.Image+"@"+sb.Dir)
			}
			return strings.Join(b, ",")
		}()}, " | ")
}

// TestSandboxCreateFails: a sandbox whose image cannot be made leaves no
// layer and no staging debris (it is laid out before the commit), and
// the formatter's error comes back wrapped.
func TestSandboxCreateFails(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("no loop devices")
	err = s.Create(context.Background(), "sb", nil, WithSandbox(1<<20, func(string, int64) error { return boom }))
	if !errors.Is(err, boom) {
		t.Fatalf("Create: %v, want the formatter's error", err)
	}
	if s.Exists("sb") {
		t.Fatal("a failed sandbox left its layer")
	}
	des, err := os.ReadDir(filepath.Join(s.Home(), stagingDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		t.Errorf("staging holds %s", de.Name())
	}
}

// TestErrorKinds: ErrNotExist also matches fs.ErrNotExist (and is still
// its own sentinel); a Writer used after Close fails with ErrClosed.
func TestErrorKinds(t *testing.T) {
	if !errors.Is(ErrNotExist, fs.ErrNotExist) || errors.Is(fs.ErrNotExist, ErrNotExist) || errors.Is(ErrExists, fs.ErrNotExist) {
		t.Fatal("ErrNotExist and fs.ErrNotExist do not relate as documented")
	}
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Meta(context.Background(), "nope"); !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, ErrNotExist) {
		t.Fatalf("Meta(nope): %v", err)
	}
	w, err := s.NewWriter(context.Background(), "w", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Remove("Files/x"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Remove after Close: %v, want ErrClosed", err)
	}
}

// TestLoggerWired: the store's warnings and notices go to WithLogger's
// logger: the cleanup of an interrupted removal is logged there.
func TestLoggerWired(t *testing.T) {
	home := t.TempDir()
	s, err := Open(home)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Create(context.Background(), "x", nil); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(s.Dir("x"), s.Dir("x")+removingSuffix); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := Open(home, WithLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "x"+removingSuffix) {
		t.Fatalf("the cleanup was not logged through WithLogger: %q", buf.String())
	}
}

// sandboxCrashChild creates a sandbox layer "sb" (a test formatter that
// writes its image in two steps) and is killed at a fault point.
func sandboxCrashChild() int {
	s, err := Open(os.Getenv("CRASH_HOME"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	format := func(image string, size int64) error {
		f, err := os.Create(image)
		if err != nil {
			return err
		}
		faultPoint("sandbox:image-created")
		if err := f.Truncate(size); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	if err := s.Create(context.Background(), "sb", nil, WithSandbox(1<<20, format)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 0
}

// TestSandboxCrashSafety kills a process creating a sandbox at every fault
// point: the sandbox layer is then complete (image of its size, Files the
// store's link to the mount point's Files) or absent, and opening the
// store removes the rest.
func TestSandboxCrashSafety(t *testing.T) {
	run := func(home string, at int, trace bool) (string, bool) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "WINLAYER_CRASH_CHILD=sandbox", "CRASH_HOME="+home, "WINLAYER_FAULT_AT="+strconv.Itoa(at))
		if trace {
			cmd.Env = append(cmd.Env, "WINLAYER_FAULT_TRACE=1")
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) && strings.Contains(ee.String(), "killed") {
			return stderr.String(), true
		}
		if err != nil {
			t.Fatalf("child (fault at %d): %v\n%s", at, err, stderr.String())
		}
		return stderr.String(), false
	}
	trace, killed := run(t.TempDir(), 0, true)
	if killed {
		t.Fatal("child killed without a fault point")
	}
	points := strings.Count(trace, "fault point ")
	if !strings.Contains(trace, "sandbox:formatted") || !strings.Contains(trace, "writer:before-rename") {
		t.Fatalf("fault points missing from the trace:\n%s", trace)
	}
	var complete, absent int
	for at := 1; at <= points; at++ {
		home := t.TempDir()
		if _, killed := run(home, at, false); !killed {
			t.Fatalf("fault point %d: child was not killed", at)
		}
		s := &Store{home: home}
		if s.Exists("sb") {
			complete++
			v, err := s.View(context.Background(), "sb")
			if err != nil || len(v.Sandboxes) != 1 {
				t.Fatalf("fault point %d: sandbox layer without its sandbox: %+v %v", at, v, err)
			}
			if fi, err := os.Stat(v.Sandboxes[0].Image); err != nil || fi.Size() != 1<<20 {
				t.Fatalf("fault point %d: sandbox image incomplete: %v", at, err)
			}
			if link, err := os.Readlink(filepath.Join(s.Dir("sb"), "Files")); err != nil || filepath.ToSlash(link) != SandboxFilesLink {
				t.Fatalf("fault point %d: Files is not the sandbox link: %q %v", at, link, err)
			}
		} else {
			absent++
		}
		if _, err := Open(home); err != nil {
			t.Fatalf("fault point %d: reopen: %v", at, err)
		}
		if left, _ := os.ReadDir(filepath.Join(home, stagingDir)); len(left) != 0 {
			t.Fatalf("fault point %d: %d staging entries left after Open", at, len(left))
		}
	}
	t.Logf("%d kill points: sandbox complete %d, absent %d", points, complete, absent)
	if complete == 0 || absent == 0 {
		t.Fatalf("kill points never hit one of the outcomes (complete %d, absent %d)", complete, absent)
	}
}
