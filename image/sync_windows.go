//go:build windows

package image

import (
	"os"

	"golang.org/x/sys/windows"
)

// syncDir does nothing on Windows: NTFS makes a rename durable with the
// file's own flush.
func syncDir(string) error { return nil }

// lockFile takes an exclusive lock (LockFileEx) on path, created if needed,
// and returns its release.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	ol := new(windows.Overlapped)
	if err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, ol); err != nil {
		f.Close()
		return nil, &os.PathError{Op: "LockFileEx", Path: path, Err: err}
	}
	return func() { f.Close() }, nil
}
