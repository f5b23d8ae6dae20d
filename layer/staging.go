package layer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Staging protocol. An import builds its layer in .staging/<id>.<n>, and
// holds the lock file .staging/<id>.<n>.lock from before the directory
// exists until after it is gone (renamed into place or deleted):
//
//   - newStage creates the lock file exclusively, locks it, checks it is
//     still the file at its name, and only then makes the directory;
//   - Cleanup removes a staging directory only while it holds the lock
//     file of its name (creating it for a directory that has none), and
//     deletes the lock file before it lets go;
//   - a commit checks that the staging directory and its lock file are
//     still the ones it created before it renames the layer into place.
//
// So no cleanup, in this process or any other, can delete a live
// import's directory, and an import never builds in a directory that a
// cleanup deleted or recreated.

const lockSuffix = ".lock"

var (
	errLockBusy = errors.New("staging lock held by a live process")
	errLockLost = errors.New("staging lock file removed by another process")
)

// stage is a staging directory held by its import.
type stage struct {
	path string      // absolute path of the staging directory
	rel  string      // its path beneath the home
	fi   fs.FileInfo // its identity when it was made
	lock *stageLock
}

// newStage makes and locks a new staging directory for layer id.
func (s *Store) newStage(id string) (*stage, error) {
	if s.readOnly {
		return nil, ErrReadOnly
	}
	if err := mkdirBeneath(s.home, stagingDir, 0o700); err != nil {
		return nil, err
	}
	for try := 0; try < 1000; try++ {
		name := id + "." + strconv.FormatUint(uint64(rand.Uint32()), 10)
		dir, err := openDirBeneath(s.home, stagingDir)
		if err != nil {
			return nil, err
		}
		lk, err := lockStage(dir, name+lockSuffix, true)
		if errors.Is(err, errLockLost) {
			continue
		}
		if err != nil {
			return nil, err
		}
		faultPoint("stage:locked")
		if err := mkdirIn(lk.dir, name, 0o700); err != nil {
			lk.release()
			if errors.Is(err, fs.ErrExist) {
				continue
			}
			return nil, err
		}
		st := &stage{path: filepath.Join(s.home, stagingDir, name), rel: filepath.Join(stagingDir, name), lock: lk}
		if st.fi, err = lstatBeneath(s.home, st.rel); err != nil {
			st.remove(s.home)
			return nil, err
		}
		return st, nil
	}
	return nil, fmt.Errorf("%s: no free staging name", filepath.Join(s.home, stagingDir))
}

// verify checks that the staging directory and its lock are still the
// ones newStage made.
func (st *stage) verify(home string) error {
	fi, err := lstatBeneath(home, st.rel)
	if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		err = symlinkAt(st.path)
	}
	if err == nil && !sameFile(fi, st.fi) {
		err = fmt.Errorf("%s was replaced by another process", st.path)
	}
	if err == nil {
		err = st.lock.held()
	}
	if err != nil {
		return fmt.Errorf("staging directory no longer ours: %w", err)
	}
	return nil
}

// remove deletes the staging directory, then its lock file.
func (st *stage) remove(home string) error {
	err := removeAllBeneath(context.Background(), home, st.rel) // an abort always completes
	st.lock.release()
	return err
}

// sameFile reports whether a and b are the same file.
func sameFile(a, b fs.FileInfo) bool {
	x, ok1 := a.(*statFileInfo)
	y, ok2 := b.(*statFileInfo)
	if ok1 && ok2 {
		return x.dev == y.dev && x.ino == y.ino
	}
	return os.SameFile(a, b)
}

// cleanStaging removes every staging directory (and lock file) of
// .staging whose lock it can take: those of imports no longer running.
func (s *Store) cleanStaging(ctx context.Context) []error {
	dir, err := openDirBeneath(s.home, stagingDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return []error{fmt.Errorf("cleanup: %w", err)}
	}
	names, err := dir.Readdirnames(-1)
	dir.Close()
	if err != nil {
		return []error{fmt.Errorf("cleanup %s: %w", filepath.Join(s.home, stagingDir), err)}
	}
	var errs []error
	seen := map[string]bool{}
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return append(errs, fmt.Errorf("cleanup: %w", err))
		}
		base := strings.TrimSuffix(n, lockSuffix)
		if seen[base] {
			continue
		}
		seen[base] = true
		d, err := openDirBeneath(s.home, stagingDir)
		if err != nil {
			return append(errs, fmt.Errorf("cleanup: %w", err))
		}
		lk, err := lockStage(d, base+lockSuffix, false)
		if errors.Is(err, errLockBusy) || errors.Is(err, errLockLost) {
			continue // a live import holds it, or another cleanup took it
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("cleanup: %w", err))
			continue
		}
		if err := removeAllBeneath(ctx, s.home, filepath.Join(stagingDir, base)); err != nil {
			errs = append(errs, fmt.Errorf("cleanup: %w", err))
		} else if slices.Contains(names, base) {
			s.log.Debug("removed what an interrupted import left", "dir", filepath.Join(s.home, stagingDir, base))
		}
		lk.release()
	}
	return errs
}
