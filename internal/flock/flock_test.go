package flock

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// TestConflicts: which second lock a held lock lets through, for every
// pair of modes; after Unlock the second one is let through.
func TestConflicts(t *testing.T) {
	for _, tc := range []struct {
		name          string
		held, second  Mode
		wantConflicts bool
	}{
		{"exclusive then exclusive", Exclusive, Exclusive, true},
		{"exclusive then shared", Exclusive, Shared, true},
		{"shared then exclusive", Shared, Exclusive, true},
		{"shared then shared", Shared, Shared, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "lock")
			held, err := Lock(p, tc.held, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			second, err := TryLock(p, tc.second, 0o644)
			if tc.wantConflicts {
				var pe *fs.PathError
				if !errors.Is(err, ErrHeld) || !errors.As(err, &pe) || pe.Path != p {
					t.Fatalf("TryLock while held: %v, want ErrHeld naming %s", err, p)
				}
			} else {
				if err != nil {
					t.Fatalf("TryLock while held: %v, want it shared", err)
				}
				second.Unlock()
			}
			held.Unlock()
			held.Unlock() // a second Unlock does nothing
			again, err := TryLock(p, tc.second, 0o644)
			if err != nil {
				t.Fatalf("TryLock after Unlock: %v", err)
			}
			again.Unlock()
		})
	}
}

// TestLockWaits: Lock waits for the holder to unlock, then takes it.
func TestLockWaits(t *testing.T) {
	p := filepath.Join(t.TempDir(), "lock")
	held, err := Lock(p, Exclusive, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		l, err := Lock(p, Shared, 0o644)
		if err == nil {
			l.Unlock()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("Lock returned (%v) while the lock was held", err)
	case <-time.After(200 * time.Millisecond):
	}
	held.Unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Lock still waiting 5 s after Unlock")
	}
}

// TestCreate: Create makes a regular file with the permissions asked
// (less the umask, which leaves 0600 alone), and accepts an existing one.
func TestCreate(t *testing.T) {
	p := filepath.Join(t.TempDir(), "lock")
	for range 2 {
		if err := Create(p, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Lstat(p)
	if err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("after Create: %v, %v", fi, err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}

// TestRefusesSymlink: a symlink at the lock file's path, to a file or to
// nowhere, is refused by Lock, TryLock and Create with ErrSymlink, and
// nothing is created or changed at its target.
func TestRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing")
	if err := os.WriteFile(existing, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{existing, filepath.Join(dir, "nowhere")} {
		p := filepath.Join(dir, "lock-"+filepath.Base(target))
		if err := os.Symlink(target, p); err != nil {
			t.Skipf("cannot make a symlink here: %v", err)
		}
		for name, call := range map[string]func() error{
			"Lock": func() error {
				l, err := Lock(p, Exclusive, 0o644)
				if err == nil {
					l.Unlock()
				}
				return err
			},
			"TryLock": func() error {
				l, err := TryLock(p, Shared, 0o644)
				if err == nil {
					l.Unlock()
				}
				return err
			},
			"Create": func() error { return Create(p, 0o644) },
		} {
			if err := call(); !errors.Is(err, ErrSymlink) {
				t.Errorf("%s of a symlink to %s: %v, want ErrSymlink", name, filepath.Base(target), err)
			}
		}
	}
	if b, err := os.ReadFile(existing); err != nil || string(b) != "keep" {
		t.Errorf("symlink target after the calls: %q, %v", b, err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "nowhere")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a dangling symlink's target was created: %v", err)
	}
}

// TestRefusesDirectory: a directory at the lock file's path is refused
// with ErrNotRegular.
func TestRefusesDirectory(t *testing.T) {
	p := t.TempDir()
	if _, err := Lock(p, Exclusive, 0o644); !errors.Is(err, ErrNotRegular) {
		t.Errorf("Lock of a directory: %v, want ErrNotRegular", err)
	}
	if err := Create(p, 0o644); !errors.Is(err, ErrNotRegular) {
		t.Errorf("Create of a directory: %v, want ErrNotRegular", err)
	}
}
