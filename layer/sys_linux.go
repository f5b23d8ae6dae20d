//go:build linux

package layer

import (
	"os"

	"golang.org/x/sys/unix"
)

// The system calls the store makes beyond the os package: mkdirat,
// syncfs, renameat2 (no-replace and exchange), O_NOFOLLOW and openat2
// opens, and kill for the crash tests.

// mkdirIn makes the directory name in dir.
func mkdirIn(dir *os.File, name string, perm os.FileMode) error {
	if err := unix.Mkdirat(int(dir.Fd()), name, uint32(perm.Perm())); err != nil {
		return &os.PathError{Op: "mkdir", Path: dir.Name() + "/" + name, Err: err}
	}
	return nil
}

// sysSyncFS flushes the whole file system holding dir (syncfs(2)): one call
// instead of an fsync per file of a large import.
func sysSyncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}

// sysRenameNoReplace renames a directory into place, failing with EEXIST
// when the destination exists (plain rename(2) would replace an empty
// directory).
func sysRenameNoReplace(from, to string) error {
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

// openBeneath opens name (slash form, relative) under the directory root
// for reading in one openat2 call that refuses to leave root or to follow
// any symlink; it falls back to a component-wise Lstat walk where openat2
// is missing. The result must be a regular file.
func openBeneath(root *os.File, rootPath, name string) (*os.File, error) {
	fd, err := unix.Openat2(int(root.Fd()), name, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOFOLLOW,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err == unix.ENOSYS || err == unix.EPERM {
		return openBeneathWalk(rootPath, name)
	}
	if err != nil {
		return nil, &os.PathError{Op: "openat2", Path: name, Err: err}
	}
	f := os.NewFile(uintptr(fd), rootPath+"/"+name)
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, &os.PathError{Op: "open", Path: name, Err: os.ErrNotExist}
	}
	return f, nil
}

// sysExchange swaps two directories atomically (renameat2 RENAME_EXCHANGE).
func sysExchange(a, b string) error {
	return unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
}
