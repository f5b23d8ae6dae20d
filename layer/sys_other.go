//go:build !linux

package layer

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// The store's system calls where Linux's mkdirat, syncfs, renameat2 and
// openat2 do not exist: the os package's equivalents, not atomic where
// noted.

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

// sysExchange swaps two directories: not atomic without renameat2.
func sysExchange(a, b string) error {
	tmp := a + ".exchange"
	if err := os.Rename(a, tmp); err != nil {
		return err
	}
	if err := os.Rename(b, a); err != nil {
		return errors.Join(err, os.Rename(tmp, a))
	}
	return os.Rename(tmp, b)
}
