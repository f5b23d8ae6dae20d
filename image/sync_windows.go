//go:build windows

package image

import (
	"os"

	"golang.org/x/sys/windows"
)

// lockFile takes an exclusive lock (LockFileEx) on path, created if needed,
// and returns its release.
func lockFile(path string) (func(), error) {
	release, _, err := lockPath(path, windows.LOCKFILE_EXCLUSIVE_LOCK)
	return release, err
}

// lockShared takes a shared lock on path (created if needed).
func lockShared(path string) (func(), error) {
	release, _, err := lockPath(path, 0)
	return release, err
}

// tryLockFile takes an exclusive lock on path without waiting; ok is false
// (and release nil) when another holder has it.
func tryLockFile(path string) (func(), bool, error) {
	return lockPath(path, windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY)
}

func lockPath(path string, flags uint32) (func(), bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, err
	}
	ol := new(windows.Overlapped)
	if err := windows.LockFileEx(windows.Handle(f.Fd()), flags, 0, 1, 0, ol); err != nil {
		f.Close()
		if err == windows.ERROR_LOCK_VIOLATION {
			return nil, false, nil
		}
		return nil, false, &os.PathError{Op: "LockFileEx", Path: path, Err: err}
	}
	return func() { f.Close() }, true, nil
}
