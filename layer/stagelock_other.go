//go:build !linux

package layer

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// stageLock is the lock file of a staging directory. Without flock its
// existence is the lock: a crashed importer's lock file (and so its
// staging directory) must be removed by hand.
type stageLock struct {
	dir  *os.File
	name string
}

// lockStage creates the lock file name in the staging directory dir
// exclusively ([errLockLost] for a new import, [errLockBusy] for cleanup,
// when it exists). lockStage takes ownership of dir.
func lockStage(dir *os.File, name string, fresh bool) (*stageLock, error) {
	p := filepath.Join(dir.Name(), name)
	if fi, err := os.Lstat(p); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		dir.Close()
		return nil, symlinkAt(p)
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		dir.Close()
		if errors.Is(err, fs.ErrExist) {
			if fresh {
				return nil, errLockLost
			}
			return nil, errLockBusy
		}
		return nil, err
	}
	f.Close()
	return &stageLock{dir: dir, name: name}, nil
}

// held checks that the lock file is still there.
func (l *stageLock) held() error {
	if _, err := os.Lstat(filepath.Join(l.dir.Name(), l.name)); err != nil {
		return errLockLost
	}
	return nil
}

// release deletes the lock file.
func (l *stageLock) release() {
	os.Remove(filepath.Join(l.dir.Name(), l.name))
	l.dir.Close()
}

// stageLive reports whether the staging lock file at p exists: without
// flock its existence is the lock.
func stageLive(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
