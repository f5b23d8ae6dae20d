//go:build unix

package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	lt "github.com/winlayer/winlayer/layer/layertest"
)

// TestMain runs the command itself when the test re-executes its own
// binary with WINLAYER_TEST_MAIN=1, so that the tests can send it real
// signals.
func TestMain(m *testing.M) {
	if os.Getenv("WINLAYER_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// TestInterruptStalledImport is `sleep 100 | winlayer import x` and
// Ctrl-C: the import stops within a second of SIGINT, exits 1, and the
// store holds no layer and no staging debris. Before, SIGINT was caught
// and the import went on waiting for its input.
func TestInterruptStalledImport(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	store := t.TempDir()
	cmd := exec.Command(os.Args[0], "--store", store, "import", "x")
	cmd.Env = append(os.Environ(), "WINLAYER_TEST_MAIN=1")
	stdin, err := cmd.StdinPipe() // never written: the input stalls
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	time.Sleep(500 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	select {
	case err := <-done:
		took := time.Since(start)
		var exit *exec.ExitError
		code := 0
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		}
		t.Logf("exit %d after %v: %s", code, took, strings.TrimSpace(stderr.String()))
		if code != 1 || took > time.Second || !strings.Contains(stderr.String(), "context canceled") {
			t.Errorf("after SIGINT: exit %d after %v, stderr %q; want 1 within 1s", code, took, stderr.String())
		}
	case <-time.After(3 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("import still running 3s after SIGINT; stderr %q", stderr.String())
	}
	entries, _ := os.ReadDir(store)
	for _, e := range entries {
		if e.Name() != ".staging" && e.Name() != ".winlayer.lock" { // the store's own files, made by Open
			t.Errorf("left in the store: %s", e.Name())
		}
	}
	if staged, _ := os.ReadDir(filepath.Join(store, ".staging")); len(staged) != 0 {
		t.Errorf("%d staging directories left", len(staged))
	}
}

// TestInterruptBlockedExport is `winlayer export x | sleep 100` with
// Ctrl-C sent to winlayer alone: the export blocked on a full pipe stops
// within a second of SIGINT and exits 1. Before, it stayed blocked.
func TestInterruptBlockedExport(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	store := t.TempDir()
	imp := exec.Command(os.Args[0], "--store", store, "import", "x")
	imp.Env = append(os.Environ(), "WINLAYER_TEST_MAIN=1")
	imp.Stdin = bytes.NewReader(lt.Tar(lt.Dir("Files"), lt.File("Files/big.bin", lt.Bytes(1, 8<<20))))
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	cmd := exec.Command(os.Args[0], "--store", store, "export", "x")
	cmd.Env = append(os.Environ(), "WINLAYER_TEST_MAIN=1")
	stdout, err := cmd.StdoutPipe() // never read: the pipe fills up
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	time.Sleep(500 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	select {
	case err := <-done:
		took := time.Since(start)
		var exit *exec.ExitError
		code := 0
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		}
		t.Logf("exit %d after %v: %s", code, took, strings.TrimSpace(stderr.String()))
		if code != 1 || took > time.Second || !strings.Contains(stderr.String(), "context canceled") {
			t.Errorf("after SIGINT: exit %d after %v, stderr %q; want 1 within 1s", code, took, stderr.String())
		}
	case <-time.After(3 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("export still running 3s after SIGINT; stderr %q", stderr.String())
	}
}
