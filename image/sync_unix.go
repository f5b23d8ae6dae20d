//go:build unix

package image

import (
	"os"

	"golang.org/x/sys/unix"
)

// lockFile takes an exclusive flock on path (created if needed) and
// returns its release. The kernel drops the lock when the process dies.
func lockFile(path string) (func(), error) {
	release, _, err := flockPath(path, unix.LOCK_EX)
	return release, err
}

// lockShared takes a shared flock on path (created if needed).
func lockShared(path string) (func(), error) {
	release, _, err := flockPath(path, unix.LOCK_SH)
	return release, err
}

// tryLockFile takes an exclusive flock on path without waiting; ok is
// false (and release nil) when another holder has it.
func tryLockFile(path string) (release func(), ok bool, err error) {
	return flockPath(path, unix.LOCK_EX|unix.LOCK_NB)
}

func flockPath(path string, how int) (func(), bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, err
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			break
		}
	}
	if err == unix.EWOULDBLOCK {
		f.Close()
		return nil, false, nil
	}
	if err != nil {
		f.Close()
		return nil, false, &os.PathError{Op: "flock", Path: path, Err: err}
	}
	return func() { f.Close() }, true, nil
}
