//go:build linux

package layer

import (
	"os"

	"golang.org/x/sys/unix"
)

// tryLock takes an exclusive flock on dir without waiting; the returned
// function releases it. The kernel drops the lock when the holder dies, so
// a staging directory whose importer was killed is unlocked.
func tryLock(dir string) (func(), error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// syncFS flushes the whole file system holding dir (syncfs(2)): one call
// instead of an fsync per file of a large import.
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}

// renameNoReplace renames a directory into place, failing with EEXIST
// when the destination exists (plain rename(2) would replace an empty
// directory).
func renameNoReplace(from, to string) error {
	err := unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE)
	if err == unix.EINVAL || err == unix.ENOSYS {
		if _, serr := os.Lstat(to); serr == nil {
			return &os.LinkError{Op: "rename", Old: from, New: to, Err: os.ErrExist}
		}
		return os.Rename(from, to)
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	return nil
}

// openNoFollow opens a file for reading, failing if its last component is a symlink.
func openNoFollow(p string) (*os.File, error) {
	return os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW, 0)
}

// killSelf ends the process as `kill -9` does.
func killSelf() {
	unix.Kill(os.Getpid(), unix.SIGKILL)
	select {}
}
