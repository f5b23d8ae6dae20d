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

// mkdirIn makes the directory name in dir.
func mkdirIn(dir *os.File, name string, perm os.FileMode) error {
	return os.Mkdir(filepath.Join(dir.Name(), name), perm)
}

// sysSyncFS makes the tree dir durable where syncfs(2) does not exist: every
// file is fsynced, then every directory (where directories can be).
func sysSyncFS(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.Type().IsRegular():
			f, err := os.OpenFile(p, os.O_RDWR, 0)
			if err != nil {
				return err
			}
			err = f.Sync()
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			return err
		case d.IsDir():
			return syncDir(p)
		}
		return nil
	})
}

// sysRenameNoReplace renames from to to, failing when to exists.
func sysRenameNoReplace(from, to string) error {
	if _, err := os.Lstat(to); err == nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: os.ErrExist}
	}
	return os.Rename(from, to)
}

// openNoFollow opens a file for reading; callers check the path with Lstat first.
func openNoFollow(p string) (*os.File, error) { return os.Open(p) }

// killSelf ends the process at once, without cleanup.
func killSelf() {
	p, _ := os.FindProcess(os.Getpid())
	p.Kill()
	select {}
}

// openBeneath opens name under rootPath without following symlinks
// (component-wise Lstat walk).
func openBeneath(root *os.File, rootPath, name string) (*os.File, error) {
	return openBeneathWalk(rootPath, name)
}
