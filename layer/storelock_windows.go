//go:build windows

package layer

import (
	"io/fs"
	"os"

	"golang.org/x/sys/windows"
)

// storeLock is the store lock held with LockFileEx: the system drops it
// when its holder dies.
type storeLock struct{ f *os.File }

// openStoreLock opens (creating if needed) the lock file at p; a symlink
// (reparse point) there is corruption.
func openStoreLock(p string) (*os.File, error) {
	if fi, err := os.Lstat(p); err == nil && (fi.Mode()&fs.ModeSymlink != 0 || fi.Mode()&fs.ModeIrregular != 0) {
		return nil, symlinkAt(p)
	} else if err == nil && !fi.Mode().IsRegular() {
		return nil, &os.PathError{Op: "open", Path: p, Err: fs.ErrInvalid}
	}
	return os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
}

func sysMakeStoreLock(p string) error {
	f, err := openStoreLock(p)
	if err != nil {
		return err
	}
	return f.Close()
}

func sysLockStore(p string) (*storeLock, error) {
	f, err := openStoreLock(p)
	if err != nil {
		return nil, err
	}
	var ol windows.Overlapped
	if err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, &ol); err != nil {
		f.Close()
		return nil, &os.PathError{Op: "LockFileEx", Path: p, Err: err}
	}
	return &storeLock{f: f}, nil
}

// unlock drops the lock.
func (l *storeLock) unlock() {
	var ol windows.Overlapped
	windows.UnlockFileEx(windows.Handle(l.f.Fd()), 0, 1, 0, &ol)
	l.f.Close()
}
