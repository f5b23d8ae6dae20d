package layer

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/winlayer/winlayer/layer/layertest"
)

// TestMain doubles as the crash test's child: with WINLAYER_CRASH_CHILD set
// it imports a layer and removes another, and is killed by a fault point.
func TestMain(m *testing.M) {
	if os.Getenv("WINLAYER_CRASH_CHILD") == "1" {
		os.Exit(crashChild())
	}
	if os.Getenv("WINLAYER_CRASH_CHILD") == "sandbox" {
		os.Exit(sandboxCrashChild())
	}
	os.Exit(m.Run())
}

func crashChild() int {
	home, tarPath := os.Getenv("CRASH_HOME"), os.Getenv("CRASH_TAR")
	in, err := os.ReadFile(tarPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	s, err := Open(home)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if _, err := s.Import(context.Background(), "new", nil, bytes.NewReader(in)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := s.Remove(context.Background(), "old"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	// The driver's ApplyDiff: new content for a layer made with Create.
	if _, err := s.ReplaceImport(context.Background(), "rep", nil, bytes.NewReader(in)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 0
}

// runChild runs the crash child against home with the given fault point
// (0: none) and returns its stderr and whether it was killed.
func runChild(t *testing.T, home, tarPath string, at int, trace bool) (string, bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "WINLAYER_CRASH_CHILD=1", "CRASH_HOME="+home, "CRASH_TAR="+tarPath,
		"WINLAYER_FAULT_AT="+strconv.Itoa(at))
	if trace {
		cmd.Env = append(cmd.Env, "WINLAYER_FAULT_TRACE=1")
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err == nil {
		return stderr.String(), false
	}
	if ee, ok := err.(*exec.ExitError); ok && strings.Contains(ee.String(), "killed") {
		return stderr.String(), true
	}
	t.Fatalf("child (fault at %d): %v\n%s", at, err, stderr.String())
	return "", false
}

// TestCrashSafety kills an importing (and removing) child process with
// SIGKILL at every fault point — between entries, in the middle of files'
// data, before and after the flush and the renames — and checks after each
// kill that the store holds either the complete layer (exporting to the
// very bytes imported) or no layer, that the layer being removed is either
// intact or gone, and that opening the store removes all debris.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary hundreds of times")
	}
	tarBytes := layertest.Mixed()
	tarPath := filepath.Join(t.TempDir(), "layer.tar")
	if err := os.WriteFile(tarPath, tarBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	oldTar, err := os.ReadFile(filepath.Join(testdata, "sample.rebuilt.tar"))
	if err != nil {
		t.Fatal(err)
	}
	prepare := func() string {
		home := t.TempDir()
		s, err := Open(home)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Import(context.Background(), "old", nil, bytes.NewReader(oldTar)); err != nil {
			t.Fatal(err)
		}
		if err := s.Create(context.Background(), "rep", nil); err != nil {
			t.Fatal(err)
		}
		return home
	}

	// A clean run counts the fault points.
	trace, killed := runChild(t, prepare(), tarPath, 0, true)
	if killed {
		t.Fatal("child killed without a fault point")
	}
	points := strings.Count(trace, "fault point ")
	if points < 200 {
		t.Fatalf("only %d fault points; the test needs at least 200", points)
	}
	kinds := map[string]int{}
	for _, l := range strings.Split(trace, "\n") {
		if f := strings.Fields(l); len(f) == 4 {
			kinds[f[3]]++
		}
	}
	t.Logf("%d fault points: %v", points, kinds)

	var complete, absent, repOld, repNew int
	for at := 1; at <= points; at++ {
		home := prepare()
		if _, killed := runChild(t, home, tarPath, at, false); !killed {
			t.Fatalf("fault point %d: child was not killed", at)
		}
		// Before any cleanup: a layer directory is either complete or absent.
		s := &Store{home: home}
		switch {
		case s.Exists("new"):
			complete++
			if got := exportAll(t, s, "new"); !bytes.Equal(got, tarBytes) {
				t.Fatalf("fault point %d: layer visible but its export differs (%d bytes, want %d)", at, len(got), len(tarBytes))
			}
		default:
			absent++
		}
		// The replaced layer is always there: the empty one or the new one.
		switch {
		case !s.Exists("rep"):
			t.Fatalf("fault point %d: the layer being replaced vanished", at)
		case s.IsDirty("rep"):
			repOld++
			if es, _, err := s.Entries(context.Background(), "rep"); err != nil || len(es) != 0 {
				t.Fatalf("fault point %d: replaced layer is neither old nor new (%d entries, %v)", at, len(es), err)
			}
		default:
			repNew++
			if got := exportAll(t, s, "rep"); !bytes.Equal(got, tarBytes) {
				t.Fatalf("fault point %d: replaced layer visible but its export differs", at)
			}
		}
		if s.Exists("old") {
			if got := exportAll(t, s, "old"); !bytes.Equal(got, oldTar) {
				t.Fatalf("fault point %d: layer being removed is half-removed", at)
			}
		}
		// Opening the store repairs: no staging or -removing debris left.
		if _, err := Open(home); err != nil {
			t.Fatalf("fault point %d: reopen: %v", at, err)
		}
		left, _ := os.ReadDir(filepath.Join(home, stagingDir))
		if len(left) != 0 {
			t.Fatalf("fault point %d: %d staging directories left after Open", at, len(left))
		}
		des, _ := os.ReadDir(home)
		for _, de := range des {
			if strings.HasSuffix(de.Name(), removingSuffix) {
				t.Fatalf("fault point %d: %s left after Open", at, de.Name())
			}
		}
		// The store still works: the interrupted import can be redone.
		if !s.Exists("new") {
			if _, err := s.Import(context.Background(), "new", nil, bytes.NewReader(tarBytes)); err != nil {
				t.Fatalf("fault point %d: retry import: %v", at, err)
			}
		}
	}
	t.Logf("%d kill points: new layer complete %d, absent %d; replaced layer old %d, new %d; 0 corrupt or half-visible",
		points, complete, absent, repOld, repNew)
	if complete == 0 || absent == 0 || repOld == 0 || repNew == 0 {
		t.Fatalf("kill points never hit one of the outcomes (complete %d, absent %d, old %d, new %d)", complete, absent, repOld, repNew)
	}
}
