//go:build windows

package flock

import (
	"io/fs"

	"golang.org/x/sys/windows"
)

func lock(path string, mode Mode, perm fs.FileMode, try bool) (*File, error) {
	f, err := open(path, perm)
	if err != nil {
		return nil, err
	}
	var flags uint32
	if mode == Exclusive {
		flags |= windows.LOCKFILE_EXCLUSIVE_LOCK
	}
	if try {
		flags |= windows.LOCKFILE_FAIL_IMMEDIATELY
	}
	h := windows.Handle(f.Fd())
	if err := windows.LockFileEx(h, flags, 0, 1, 0, new(windows.Overlapped)); err != nil {
		f.Close()
		if err == windows.ERROR_LOCK_VIOLATION {
			return nil, &fs.PathError{Op: "LockFileEx", Path: path, Err: ErrHeld}
		}
		return nil, &fs.PathError{Op: "LockFileEx", Path: path, Err: err}
	}
	return &File{unlock: func() {
		windows.UnlockFileEx(h, 0, 1, 0, new(windows.Overlapped))
		f.Close()
	}}, nil
}
