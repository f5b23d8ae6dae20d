package layer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
// imported, after the import started and before it commits: the removal
// succeeds (nothing committed needs the parent yet) and the commit must
// then fail, naming the parent, and store nothing — never both succeed,
// leaving kid with a missing parent. Through a Writer, through Import of
// a tar that arrives in two parts, with forced removal, and under
// WithPendingParents for a parent that existed when the import started.
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
	cases := []struct {
		name   string
		run    func(*testing.T, *Store, func(*Store, string) error, ...ImportOption) (error, error)
		remove func(*Store, string) error
		opts   []ImportOption
	}{
		{"writer", viaWriter, rm, nil},
		{"writer force", viaWriter, rmForce, nil},
		{"writer pending parents", viaWriter, rm, []ImportOption{WithPendingParents()}},
		{"import", viaImport, rm, nil},
		{"import pending parents", viaImport, rm, []ImportOption{WithPendingParents()}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.TempDir())
			mustDo(t, err)
			_, err = s.Import(context.Background(), "base", nil, bytes.NewReader(layertest.Mixed()))
			mustDo(t, err)
			rerr, cerr := tc.run(t, s, tc.remove, tc.opts...)
			if rerr != nil {
				t.Fatalf("remove base while kid is importing: %v", rerr)
			}
			if cerr == nil {
				t.Fatalf("kid committed on base removed during its import: both succeeded")
			}
			if !errors.Is(cerr, ErrNotExist) || !strings.Contains(cerr.Error(), "parent base") {
				t.Errorf("commit error %q: want ErrNotExist naming parent base", cerr)
			}
			if s.Exists("kid") || s.Exists("base") {
				t.Errorf("after the failed commit: kid exists %v, base exists %v; want neither", s.Exists("kid"), s.Exists("base"))
			}
			assertConsistent(t, s)
		})
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
// Remove must wait for the commit and refuse, naming kid, with ErrInUse.
func TestRemoveWaitsForCommit(t *testing.T) {
	s, err := Open(t.TempDir())
	mustDo(t, err)
	_, err = s.Import(context.Background(), "base", nil, bytes.NewReader(layertest.Mixed()))
	mustDo(t, err)
	w := startKid(t, s, []string{s.Dir("base")})
	removed := make(chan error, 1)
	var early error
	hook := func(where string) error {
		if where != "writer:store-locked" {
			return nil
		}
		go func() { removed <- s.Remove(context.Background(), "base") }()
		select {
		case err := <-removed:
			early = fmt.Errorf("Remove returned %v while the commit held the store lock", err)
			removed <- err
		case <-time.After(200 * time.Millisecond):
		}
		return nil
	}
	faultErrHook.Store(&hook)
	cerr := w.Close()
	faultErrHook.Store(nil)
	rerr := <-removed
	if early != nil {
		t.Error(early)
	}
	mustDo(t, cerr)
	if !errors.Is(rerr, ErrInUse) || !strings.Contains(rerr.Error(), "kid") {
		t.Errorf("Remove(base) after kid committed: %v; want ErrInUse naming kid", rerr)
	}
	if !s.Exists("base") || !s.Exists("kid") {
		t.Error("base or kid missing")
	}
	assertConsistent(t, s)
}

// TestRemoveImportRace races Remove of the parent against the commit of
// a child, many times: exactly one of them succeeds, and no layer is left
// with a missing parent. Run with -race.
func TestRemoveImportRace(t *testing.T) {
	s, err := Open(t.TempDir())
	mustDo(t, err)
	base := layertest.Mixed()
	for i := range 20 {
		_, err = s.Import(context.Background(), "base", nil, bytes.NewReader(base))
		mustDo(t, err)
		w := startKid(t, s, []string{s.Dir("base")})
		var wg sync.WaitGroup
		var rerr, cerr error
		wg.Add(2)
		go func() { defer wg.Done(); cerr = w.Close() }()
		go func() { defer wg.Done(); rerr = s.Remove(context.Background(), "base") }()
		wg.Wait()
		if (rerr == nil) == (cerr == nil) {
			t.Fatalf("round %d: remove err %v, commit err %v: want exactly one to succeed", i, rerr, cerr)
		}
		if rerr != nil && !errors.Is(rerr, ErrInUse) {
			t.Fatalf("round %d: remove: %v, want ErrInUse", i, rerr)
		}
		if cerr != nil && !errors.Is(cerr, ErrNotExist) {
			t.Fatalf("round %d: commit: %v, want ErrNotExist", i, cerr)
		}
		assertConsistent(t, s)
		for _, id := range []string{"kid", "base"} {
			mustDo(t, s.Remove(context.Background(), id))
		}
	}
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
