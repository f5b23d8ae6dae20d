package layer

import (
	"fmt"
	"path/filepath"
)

// Store lock. Two short critical sections of different processes must not
// interleave: a commit's final check that the parents it started from are
// still there followed by its rename into place, and a removal's check
// that no committed layer needs the layer followed by its rename to
// <id>-removing. Otherwise `rm base` could find no dependant while an
// import of a child of base is about to commit, and both would succeed,
// leaving the child with a missing parent. Both hold the store lock, an
// advisory lock on <home>/.winlayer.lock, exclusively and only for those
// steps: imports otherwise run in parallel and readers never take it.
//
// The lock file is made by a read-write [Open] (and by the first lock of
// a store made before it existed); read-only stores never create it. A
// symlink in its place is corruption, never followed.

const storeLockName = ".winlayer.lock"

// lockStore takes the store lock, waiting for its holder.
func (s *Store) lockStore() (*storeLock, error) {
	if s.readOnly {
		return nil, ErrReadOnly
	}
	l, err := sysLockStore(filepath.Join(s.home, storeLockName))
	if err != nil {
		return nil, fmt.Errorf("store lock: %w", err)
	}
	return l, nil
}

// makeStoreLock creates the lock file if it is missing.
func (s *Store) makeStoreLock() error {
	if err := sysMakeStoreLock(filepath.Join(s.home, storeLockName)); err != nil {
		return fmt.Errorf("store lock: %w", err)
	}
	return nil
}
