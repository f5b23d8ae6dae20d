//go:build linux

package layer

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// The store reaches what lies beneath its home only through openat2 with
// RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS: a symlink in the store where one of
// its own directories or files should be (.staging, a layer directory,
// .winlayer, <id>-removing) is never followed; it is reported as
// corruption ([errSymlink]) naming the path.

var beneathHow = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// openat2 opens rel beneath the directory dirfd (home when dirfd is
// AT_FDCWD and rel is absolute is not allowed: callers pass a dirfd).
// It falls back to a component-wise walk where openat2 is missing.
func openat2(dirfd int, dirPath, rel string, flags int) (int, error) {
	for {
		fd, err := unix.Openat2(dirfd, rel, &unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC | unix.O_NOFOLLOW), Resolve: uint64(beneathHow)})
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		if err == unix.ENOSYS || err == unix.EPERM && flags&unix.O_PATH != 0 {
			return openWalk(dirfd, dirPath, rel, flags)
		}
		if err == unix.ELOOP || err == unix.EXDEV {
			return -1, symlinkOnPath(dirPath, rel)
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: filepath.Join(dirPath, rel), Err: err}
		}
		return fd, nil
	}
}

// openWalk opens rel beneath dirfd one component at a time with
// O_NOFOLLOW (kernels without openat2).
func openWalk(dirfd int, dirPath, rel string, flags int) (int, error) {
	parts := splitRel(rel)
	cur, err := unix.Openat(dirfd, ".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: dirPath, Err: err}
	}
	for i, c := range parts {
		f := unix.O_PATH | unix.O_DIRECTORY
		if i == len(parts)-1 {
			f = flags
		}
		next, err := unix.Openat(cur, c, f|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		unix.Close(cur)
		if err == unix.ELOOP || err == unix.ENOTDIR && i < len(parts)-1 {
			return -1, symlinkOnPath(dirPath, rel)
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: filepath.Join(dirPath, rel), Err: err}
		}
		cur = next
	}
	return cur, nil
}

// openHome opens the store's home directory itself.
func openHome(home string) (*os.File, error) {
	fd, err := unix.Open(home, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: home, Err: err}
	}
	return os.NewFile(uintptr(fd), home), nil
}

// openDirBeneath opens the directory rel beneath home ("" is home itself).
func openDirBeneath(home, rel string) (*os.File, error) {
	h, err := openHome(home)
	if err != nil || rel == "" || rel == "." {
		return h, err
	}
	defer h.Close()
	fd, err := openat2(int(h.Fd()), home, rel, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		if errors.Is(err, unix.ENOTDIR) {
			return nil, notADir(home, rel)
		}
		return nil, err
	}
	return os.NewFile(uintptr(fd), filepath.Join(home, rel)), nil
}

// lstatBeneath returns what rel beneath home is, without following any
// symlink on the way; a symlink on the way is [errSymlink], a symlink at
// the end is returned as such (Mode()&ModeSymlink).
func lstatBeneath(home, rel string) (fs.FileInfo, error) {
	h, err := openHome(home)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	fd, err := openat2(int(h.Fd()), home, filepath.Dir(rel), unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return nil, err
	}
	d := os.NewFile(uintptr(fd), filepath.Join(home, filepath.Dir(rel)))
	defer d.Close()
	var st unix.Stat_t
	if err := unix.Fstatat(fd, filepath.Base(rel), &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return nil, &os.PathError{Op: "lstat", Path: filepath.Join(home, rel), Err: err}
	}
	return statInfo(filepath.Base(rel), &st), nil
}

// readFileBeneath reads the regular file rel beneath home.
func readFileBeneath(home, rel string) ([]byte, error) {
	h, err := openHome(home)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	fd, err := openat2(int(h.Fd()), home, rel, unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), filepath.Join(home, rel))
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, &os.PathError{Op: "read", Path: f.Name(), Err: errors.New("not a regular file")}
	}
	return io.ReadAll(f)
}

// mkdirBeneath makes the directory rel beneath home; one that exists is
// fine when it is a real directory.
func mkdirBeneath(home, rel string, perm os.FileMode) error {
	d, err := openDirBeneath(home, filepath.Dir(rel))
	if err != nil {
		return err
	}
	defer d.Close()
	err = unix.Mkdirat(int(d.Fd()), filepath.Base(rel), uint32(perm.Perm()))
	if err == unix.EEXIST {
		fi, serr := lstatBeneath(home, rel)
		if serr != nil {
			return serr
		}
		return wantDir(home, rel, fi)
	}
	if err != nil {
		return &os.PathError{Op: "mkdir", Path: filepath.Join(home, rel), Err: err}
	}
	return nil
}

// renameBeneath renames from to to, both beneath home, without following
// symlinks on the way (a symlink as the last component of from is renamed
// as itself; callers check from first).
func renameBeneath(home, from, to string) error {
	fd, err := openDirBeneath(home, filepath.Dir(from))
	if err != nil {
		return err
	}
	defer fd.Close()
	td, err := openDirBeneath(home, filepath.Dir(to))
	if err != nil {
		return err
	}
	defer td.Close()
	if err := unix.Renameat(int(fd.Fd()), filepath.Base(from), int(td.Fd()), filepath.Base(to)); err != nil {
		return &os.LinkError{Op: "rename", Old: filepath.Join(home, from), New: filepath.Join(home, to), Err: err}
	}
	return nil
}

// removeAllBeneath deletes rel beneath home and everything in it, never
// through a symlink: a symlink at rel or on the way is [errSymlink] and
// is left alone; symlinks inside the tree are unlinked, not followed. A
// missing rel is not an error.
func removeAllBeneath(ctx context.Context, home, rel string) error {
	d, err := openDirBeneath(home, filepath.Dir(rel))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer d.Close()
	return removeAt(ctx, d, home, rel)
}

// removeAt deletes the entry filepath.Base(rel) of the open directory d
// (rel names it beneath home, for errors), refusing a symlink.
func removeAt(ctx context.Context, d *os.File, home, rel string) error {
	name := filepath.Base(rel)
	var st unix.Stat_t
	if err := unix.Fstatat(int(d.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if err == unix.ENOENT {
			return nil
		}
		return &os.PathError{Op: "lstat", Path: filepath.Join(home, rel), Err: err}
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return symlinkAt(filepath.Join(home, rel))
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		if err := unix.Unlinkat(int(d.Fd()), name, 0); err != nil && err != unix.ENOENT {
			return &os.PathError{Op: "remove", Path: filepath.Join(home, rel), Err: err}
		}
		return nil
	}
	if err := removeTree(ctx, int(d.Fd()), name, filepath.Join(home, rel)); err != nil {
		return err
	}
	return nil
}

// removeTree deletes the directory name of dirfd with all its content,
// working through file descriptors only (O_NOFOLLOW everywhere). It checks
// ctx before each entry: a cancelled removal stops with ctx's error and
// leaves what it did not reach.
func removeTree(ctx context.Context, dirfd int, name, p string) error {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err == unix.ENOENT {
		return nil
	}
	if err == unix.ELOOP || err == unix.ENOTDIR {
		// Replaced under us by a link or file: unlink the name itself.
		if err := unix.Unlinkat(dirfd, name, 0); err != nil && err != unix.ENOENT {
			return &os.PathError{Op: "remove", Path: p, Err: err}
		}
		return nil
	}
	if err != nil {
		return &os.PathError{Op: "open", Path: p, Err: err}
	}
	f := os.NewFile(uintptr(fd), p)
	names, err := f.Readdirnames(-1)
	if errors.Is(err, unix.ENOENT) {
		// Deleted under us by another removal of the same tree (an rm
		// and the cleanup of a command that opened the store, say).
		f.Close()
		return nil
	}
	var errs []error
	if err != nil {
		errs = append(errs, &os.PathError{Op: "readdir", Path: p, Err: err})
	}
	for _, c := range names {
		if err := ctx.Err(); err != nil {
			f.Close()
			return err
		}
		err := unix.Unlinkat(fd, c, 0)
		if err == unix.EISDIR || err == unix.EPERM {
			err = removeTree(ctx, fd, c, filepath.Join(p, c))
			if cerr := ctx.Err(); cerr != nil && errors.Is(err, cerr) {
				f.Close()
				return err
			}
		} else if err == unix.ENOENT {
			err = nil
		} else if err != nil {
			err = &os.PathError{Op: "remove", Path: filepath.Join(p, c), Err: err}
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	f.Close()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR); err != nil && err != unix.ENOENT {
		return &os.PathError{Op: "remove", Path: p, Err: err}
	}
	return nil
}

// statInfo adapts a Stat_t to fs.FileInfo (mode type bits only, size).
func statInfo(name string, st *unix.Stat_t) fs.FileInfo {
	var m fs.FileMode
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		m = fs.ModeDir
	case unix.S_IFLNK:
		m = fs.ModeSymlink
	case unix.S_IFREG:
	default:
		m = fs.ModeIrregular
	}
	return &statFileInfo{name: name, mode: m | fs.FileMode(st.Mode&0o777), size: st.Size, dev: uint64(st.Dev), ino: st.Ino}
}
