//go:build unix

package layer

import (
	"os"

	"golang.org/x/sys/unix"
)

// storeLock is the store lock held with flock(2): the kernel drops it when
// its holder dies.
type storeLock struct{ f *os.File }

// openStoreLock opens (creating if needed) the lock file at p, not
// following a symlink there.
func openStoreLock(p string) (*os.File, error) {
	fd, err := unix.Open(p, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err == unix.ELOOP {
		return nil, symlinkAt(p)
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	f := os.NewFile(uintptr(fd), p)
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, &os.PathError{Op: "open", Path: p, Err: unix.EISDIR}
	}
	return f, nil
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
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, &os.PathError{Op: "flock", Path: p, Err: err}
	}
	return &storeLock{f: f}, nil
}

// unlock drops the lock (closing the file releases the flock).
func (l *storeLock) unlock() { l.f.Close() }
