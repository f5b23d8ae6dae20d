package layer

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/winlayer/winlayer/internal/flock"
)

// Store lock. Two short critical sections of different processes must not
// interleave: a commit's final check that the parents it started from are
// still there followed by its rename into place, and a removal's check
// that no committed layer needs the layer followed by its rename to
// <id>-removing. Otherwise `rm base` could find no dependant while an
// import of a child of base is about to commit, and both would succeed,
// leaving the child with a missing parent. Both hold the store lock, an
// advisory lock (internal/flock: flock(2), LockFileEx) on
// <home>/.winlayer.lock, exclusively and only for those steps: imports
// otherwise run in parallel and readers never take it. The system drops it
// when its holder dies.
//
// The lock file is made by a read-write [Open] (and by the first lock of
// a store made before it existed); read-only stores never create it. A
// symlink in its place is corruption, never followed.

const storeLockName = ".winlayer.lock"

// lockStore takes the store lock, waiting for its holder.
func (s *Store) lockStore() (*flock.File, error) {
	if s.readOnly {
		return nil, ErrReadOnly
	}
	p := filepath.Join(s.home, storeLockName)
	l, err := flock.Lock(p, flock.Exclusive, 0o644)
	if err != nil {
		return nil, storeLockError(p, err)
	}
	return l, nil
}

// makeStoreLock creates the lock file if it is missing.
func (s *Store) makeStoreLock() error {
	p := filepath.Join(s.home, storeLockName)
	if err := flock.Create(p, 0o644); err != nil {
		return storeLockError(p, err)
	}
	return nil
}

// storeLockError says what went wrong with the lock file at p: a symlink
// there is corruption (ErrCorrupt).
func storeLockError(p string, err error) error {
	if errors.Is(err, flock.ErrSymlink) {
		err = symlinkAt(p)
	}
	return fmt.Errorf("store lock: %w", err)
}
