//go:build unix

package flock

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestRefusesFIFO: a FIFO at the lock file's path is refused with
// ErrNotRegular, without blocking on the open.
func TestRefusesFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "lock")
	if err := unix.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Create(p, 0o644) }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegular) {
			t.Errorf("Create of a FIFO: %v, want ErrNotRegular", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Create of a FIFO blocked")
	}
}

// TestOtherProcess: a lock held by another process (this test binary
// run again, holding the lock with Lock) is seen as held, and is free
// once that process has been killed: the system drops it.
func TestOtherProcess(t *testing.T) {
	if p := os.Getenv("FLOCK_TEST_HOLD"); p != "" {
		// The other process: hold the lock until killed.
		if _, err := Lock(p, Exclusive, 0o644); err != nil {
			os.Stdout.WriteString("error " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString("locked\n")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	p := filepath.Join(t.TempDir(), "lock")
	cmd := exec.Command(os.Args[0], "-test.run", "^TestOtherProcess$")
	cmd.Env = append(os.Environ(), "FLOCK_TEST_HOLD="+p)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if line != "locked\n" {
		t.Fatalf("the other process did not take the lock: %q, %v", line, err)
	}
	if _, err := TryLock(p, Shared, 0o644); !errors.Is(err, ErrHeld) {
		t.Errorf("TryLock while another process holds it: %v, want ErrHeld", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	l, err := TryLock(p, Exclusive, 0o644)
	if err != nil {
		t.Fatalf("TryLock after its holder was killed: %v", err)
	}
	l.Unlock()
}
