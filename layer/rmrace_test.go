package layer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/winlayer/winlayer/backupstream"
	"github.com/winlayer/winlayer/layer/layertest"
)

// startKid opens a Writer of layer kid on parents and adds a few entries:
// an import in progress.
func startKid(t *testing.T, s *Store, parents []string, opts ...ImportOption) *Writer {
	t.Helper()
	w, err := s.NewWriter(context.Background(), "kid", parents, opts...)
	mustDo(t, err)
	mustDo(t, w.Add(`Files`, &backupstream.FileBasicInfo{FileAttributes: backupstream.AttrDirectory}))
	for i := range 3 {
		mustDo(t, w.Add(fmt.Sprintf(`Files\f%d`, i), &backupstream.FileBasicInfo{FileAttributes: backupstream.AttrArchive}))
	}
	return w
}

// assertConsistent checks that no layer of the store has a missing
// parent and that no staging directory is left.
func assertConsistent(t *testing.T, s *Store) {
	t.Helper()
	infos, err := s.List(context.Background())
	mustDo(t, err)
	for _, in := range infos {
		if len(in.MissingParents) > 0 {
			t.Errorf("layer %s has missing parents %v", in.ID, in.MissingParents)
		}
	}
	names, err := os.ReadDir(filepath.Join(s.Home(), stagingDir))
	mustDo(t, err)
	if len(names) != 0 {
		t.Errorf(".staging not empty: %v", names)
	}
}

// TestRemoveParentDuringImport removes the parent of a layer being
// imported, after the import started and before it commits. Remove
// refuses (ErrInUse naming kid, being imported) and the import commits;
// RemoveForce removes it, and the commit must then fail, naming the
// parent, and store nothing. Never both succeed leaving kid with a
// missing parent. Through a Writer, through Import of a tar that arrives
// in two parts, and under WithPendingParents for a parent that existed
// when the import started.
func TestRemoveParentDuringImport(t *testing.T) {
	rm := func(s *Store, id string) error { return s.Remove(context.Background(), id) }
	rmForce := func(s *Store, id string) error { _, err := s.RemoveForce(context.Background(), id); return err }
	viaWriter := func(t *testing.T, s *Store, remove func(*Store, string) error, opts ...ImportOption) (error, error) {
		w := startKid(t, s, []string{s.Dir("base")}, opts...)
		rerr := remove(s, "base")
		return rerr, w.Close()
	}
	viaImport := func(t *testing.T, s *Store, remove func(*Store, string) error, opts ...ImportOption) (error, error) {
		tar := layertest.Mixed()
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			_, err := s.Import(context.Background(), "kid", []string{s.Dir("base")}, pr, opts...)
			pr.CloseWithError(err)
			done <- err
		}()
		half := len(tar) / 2
		if _, err := pw.Write(tar[:half]); err != nil {
			t.Fatal(err)
		}
		rerr := remove(s, "base") // the import is blocked reading the rest
		pw.Write(tar[half:])
		pw.Close()
		return rerr, <-done
	}
	pending := []ImportOption{WithPendingParents()}
	cases := []struct {
		name  string
		run   func(*testing.T, *Store, func(*Store, string) error, ...ImportOption) (error, error)
		force bool
		opts  []ImportOption
	}{
		{"writer", viaWriter, false, nil},
		{"writer force", viaWriter, true, nil},
		{"writer pending parents", viaWriter, false, pending},
		{"writer pending parents force", viaWriter, true, pending},
		{"import", viaImport, false, nil},
		{"import force", viaImport, true, nil},
		{"import pending parents force", viaImport, true, pending},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logged bytes.Buffer
			s, err := Open(t.TempDir(), WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
			mustDo(t, err)
			_, err = s.Import(context.Background(), "base", nil, bytes.NewReader(layertest.Mixed()))
			mustDo(t, err)
			remove := rm
			if tc.force {
				remove = rmForce
			}
			rerr, cerr := tc.run(t, s, remove, tc.opts...)
			if rerr == nil && cerr == nil {
				t.Fatalf("base removed and kid committed on it: both succeeded")
			}
			if tc.force {
				if rerr != nil {
					t.Fatalf("remove --force of base while kid is importing: %v", rerr)
				}
				if !errors.Is(cerr, ErrNotExist) || !strings.Contains(cerr.Error(), "parent base") {
					t.Errorf("commit error %q: want ErrNotExist naming parent base", cerr)
				}
				if !strings.Contains(logged.String(), "importing=kid") {
					t.Errorf("RemoveForce did not warn that it broke kid's import; log: %q", logged.String())
				}
				if s.Exists("kid") || s.Exists("base") {
					t.Errorf("after the failed commit: kid exists %v, base exists %v; want neither", s.Exists("kid"), s.Exists("base"))
				}
			} else {
				if !errors.Is(rerr, ErrInUse) || !strings.Contains(rerr.Error(), "kid, being imported") {
					t.Errorf("remove error %v: want ErrInUse naming kid, being imported", rerr)
				}
				if cerr != nil {
					t.Errorf("commit after the refused removal: %v", cerr)
				}
				if !s.Exists("kid") || !s.Exists("base") {
					t.Errorf("kid exists %v, base exists %v; want both", s.Exists("kid"), s.Exists("base"))
				}
			}
			assertConsistent(t, s)
		})
	}
}

// TestRemoveIgnoresDeadImport: a staging directory left by an import that
// died (its lock not held) does not keep Remove from removing its parent.
func TestRemoveIgnoresDeadImport(t *testing.T) {
	s, err := Open(t.TempDir())
	mustDo(t, err)
	mustDo(t, s.Create(context.Background(), "base", nil))
	dead := filepath.Join(s.Home(), stagingDir, "kid.123")
	mustDo(t, os.Mkdir(dead, 0o700))
	mustDo(t, writeStageChain(dead, []string{s.Dir("base")}))
	mustDo(t, s.Remove(context.Background(), "base"))
	if s.Exists("base") {
		t.Error("base not removed")
	}
}

// TestPendingParentAbsentAtStart: under WithPendingParents a parent that
// was not there when the import started may still be missing at commit
// (a parallel pull commits it later).
func TestPendingParentAbsentAtStart(t *testing.T) {
	s, err := Open(t.TempDir())
	mustDo(t, err)
	w := startKid(t, s, []string{s.Dir("later")}, WithPendingParents())
	mustDo(t, w.Close())
	if !s.Exists("kid") {
		t.Fatal("kid not committed")
	}
}

// TestRemoveWaitsForCommit holds a commit inside its critical section (the
// store lock taken, parents checked next) and removes the parent then:
// the removal must wait for the commit; Remove then refuses, naming kid,
// with ErrInUse, and RemoveForce removes base and names kid as broken.
func TestRemoveWaitsForCommit(t *testing.T) {
	for _, force := range []bool{false, true} {
		t.Run(fmt.Sprintf("force=%v", force), func(t *testing.T) {
			s, err := Open(t.TempDir())
			mustDo(t, err)
			_, err = s.Import(context.Background(), "base", nil, bytes.NewReader(layertest.Mixed()))
			mustDo(t, err)
			w := startKid(t, s, []string{s.Dir("base")})
			type result struct {
				broken []string
				err    error
			}
			removed := make(chan result, 1)
			var early error
			hook := func(where string) error {
				if where != "writer:store-locked" {
					return nil
				}
				go func() {
					if force {
						b, err := s.RemoveForce(context.Background(), "base")
						removed <- result{b, err}
					} else {
						removed <- result{nil, s.Remove(context.Background(), "base")}
					}
				}()
				select {
				case r := <-removed:
					early = fmt.Errorf("removal returned %v while the commit held the store lock", r.err)
					removed <- r
				case <-time.After(200 * time.Millisecond):
				}
				return nil
			}
			faultErrHook.Store(&hook)
			cerr := w.Close()
			faultErrHook.Store(nil)
			r := <-removed
			if early != nil {
				t.Error(early)
			}
			mustDo(t, cerr)
			if !force {
				if !errors.Is(r.err, ErrInUse) || !strings.Contains(r.err.Error(), "kid") {
					t.Errorf("Remove(base) after kid committed: %v; want ErrInUse naming kid", r.err)
				}
				if !s.Exists("base") || !s.Exists("kid") {
					t.Error("base or kid missing")
				}
				assertConsistent(t, s)
				return
			}
			if r.err != nil || !slices.Equal(r.broken, []string{"kid"}) {
				t.Errorf("RemoveForce(base) after kid committed: broken %v, %v; want [kid]", r.broken, r.err)
			}
		})
	}
}

// TestRemoveImportRace races removal of the parent against the commit
// of a child, many times, with Remove and with RemoveForce. Remove:
// exactly one succeeds. RemoveForce: it always succeeds, and either the
// commit failed (nothing stored) or RemoveForce names kid as broken. No
// layer is ever left with a missing parent that no one reported. Run with
// -race.
func TestRemoveImportRace(t *testing.T) {
	s, err := Open(t.TempDir())
	mustDo(t, err)
	base := layertest.Mixed()
	outcomes := map[string]int{}
	for i := range 30 {
		force := i%2 == 1
		_, err = s.Import(context.Background(), "base", nil, bytes.NewReader(base))
		mustDo(t, err)
		w := startKid(t, s, []string{s.Dir("base")})
		var wg sync.WaitGroup
		var rerr, cerr error
		var broken []string
		wg.Add(2)
		go func() { defer wg.Done(); cerr = w.Close() }()
		go func() {
			defer wg.Done()
			if force {
				broken, rerr = s.RemoveForce(context.Background(), "base")
			} else {
				rerr = s.Remove(context.Background(), "base")
			}
		}()
		wg.Wait()
		if cerr != nil && !errors.Is(cerr, ErrNotExist) {
			t.Fatalf("round %d: commit: %v, want ErrNotExist", i, cerr)
		}
		if !force {
			if (rerr == nil) == (cerr == nil) {
				t.Fatalf("round %d: remove err %v, commit err %v: want exactly one to succeed", i, rerr, cerr)
			}
			if rerr != nil && !errors.Is(rerr, ErrInUse) {
				t.Fatalf("round %d: remove: %v, want ErrInUse", i, rerr)
			}
			assertConsistent(t, s)
		} else {
			if rerr != nil {
				t.Fatalf("round %d: remove --force: %v", i, rerr)
			}
			if cerr == nil && !slices.Contains(broken, "kid") {
				t.Fatalf("round %d: kid committed on base, RemoveForce removed base and reported %v broken", i, broken)
			}
		}
		outcomes[fmt.Sprintf("force=%v commit ok=%v", force, cerr == nil)]++
		for _, id := range []string{"kid", "base"} {
			_, err := s.RemoveForce(context.Background(), id)
			mustDo(t, err)
		}
	}
	t.Logf("outcomes: %v", outcomes)
}

// TestStoreLockFile: a read-write Open makes the lock file, a read-only
// open of a store without one does not; a store whose lock file went
// missing (made before it existed) still removes; a symlink in its place
// is corruption, and Remove then leaves the layer alone.
func TestStoreLockFile(t *testing.T) {
	home := t.TempDir()
	lock := filepath.Join(home, storeLockName)
	if _, err := OpenReadOnly(home); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(lock); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("read-only open: lock file: %v, want none", err)
	}
	s, err := Open(home)
	mustDo(t, err)
	if fi, err := os.Lstat(lock); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("read-write open: lock file: %v", err)
	}
	mustDo(t, s.Create(context.Background(), "a", nil))
	mustDo(t, os.Remove(lock))
	mustDo(t, s.Remove(context.Background(), "a"))
	target := filepath.Join(t.TempDir(), "elsewhere")
	mustDo(t, os.WriteFile(target, nil, 0o644))
	mustDo(t, s.Create(context.Background(), "b", nil))
	mustDo(t, os.Remove(lock))
	mustDo(t, os.Symlink(target, lock))
	if err := s.Remove(context.Background(), "b"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Remove with a symlink at the lock: %v, want ErrCorrupt", err)
	}
	if !s.Exists("b") {
		t.Error("b removed through a symlinked lock")
	}
	if err := s.Create(context.Background(), "c", nil); !errors.Is(err, ErrCorrupt) || s.Exists("c") {
		t.Errorf("Create with a symlink at the lock: %v (exists %v), want ErrCorrupt", err, s.Exists("c"))
	}
	if _, err := Open(home); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Open with a symlink at the lock: %v, want ErrCorrupt", err)
	}
}
