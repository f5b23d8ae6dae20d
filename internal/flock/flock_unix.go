//go:build unix

package flock

import (
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// open opens (creating if needed) the regular file at path, not following
// a symlink there.
func open(path string, perm fs.FileMode) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, uint32(perm.Perm()))
	switch err {
	case unix.ELOOP:
		return nil, &fs.PathError{Op: "open", Path: path, Err: ErrSymlink}
	case unix.EISDIR:
		return nil, &fs.PathError{Op: "open", Path: path, Err: ErrNotRegular}
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	if err := checkRegular(f, path); err != nil {
		return nil, err
	}
	return f, nil
}

func lock(path string, mode Mode, perm fs.FileMode, try bool) (*File, error) {
	f, err := open(path, perm)
	if err != nil {
		return nil, err
	}
	how := unix.LOCK_EX
	if mode == Shared {
		how = unix.LOCK_SH
	}
	if try {
		how |= unix.LOCK_NB
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		if err == unix.EWOULDBLOCK {
			err = ErrHeld
		}
		return nil, &fs.PathError{Op: "flock", Path: path, Err: err}
	}
	// Closing the file releases the flock.
	return &File{unlock: func() { f.Close() }}, nil
}
