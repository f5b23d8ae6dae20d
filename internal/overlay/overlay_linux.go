package overlay

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// IsWhiteoutDevice reports whether fi is a character device 0/0, the
// classic overlay whiteout.
func IsWhiteoutDevice(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && fi.Mode()&fs.ModeCharDevice != 0 && st.Rdev == 0
}

func hasWhiteoutXattr(p string) bool {
	for _, name := range []string{WhiteoutXattr, UserWhiteoutXattr} {
		if _, err := unix.Lgetxattr(p, name, nil); err == nil {
			return true
		}
	}
	return false
}

// IsOpaque reports whether directory p is marked opaque (=y).
func IsOpaque(p string) bool {
	for _, name := range []string{OpaqueXattr, UserOpaqueXattr} {
		var b [1]byte
		n, err := unix.Lgetxattr(p, name, b[:])
		if err == nil && n == 1 && b[0] == 'y' {
			return true
		}
	}
	return false
}

// MakeWhiteout creates a character device 0/0 at p. It needs
// CAP_MKNOD: the error then wraps fs.ErrPermission (unix.EPERM).
func MakeWhiteout(p string) error {
	if err := unix.Mknod(p, unix.S_IFCHR, 0); err != nil {
		return &os.PathError{Op: "mknod", Path: p, Err: err}
	}
	return nil
}

// MakeUserWhiteout creates overlayfs' unprivileged whiteout at p: an empty
// file with the xattr user.overlay.whiteout (its parent directory is
// marked user.overlay.opaque=x, as overlayfs wants for xattr whiteouts).
// It needs a file system with user xattrs.
func MakeUserWhiteout(p string) error {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := unix.Lsetxattr(p, UserWhiteoutXattr, []byte{}, 0); err != nil {
		os.Remove(p)
		return &os.PathError{Op: "setxattr", Path: p, Err: err}
	}
	if err := unix.Lsetxattr(filepath.Dir(p), UserOpaqueXattr, []byte("x"), 0); err != nil {
		os.Remove(p)
		return &os.PathError{Op: "setxattr", Path: filepath.Dir(p), Err: err}
	}
	return nil
}

// MakeOpaque marks directory p opaque (trusted.overlay.opaque=y; needs
// CAP_SYS_ADMIN, else the error wraps unix.EPERM).
func MakeOpaque(p string) error {
	if err := unix.Lsetxattr(p, OpaqueXattr, []byte("y"), 0); err != nil {
		return &os.PathError{Op: "setxattr", Path: p, Err: err}
	}
	return nil
}

// MakeUserOpaque marks directory p opaque in overlayfs' userxattr form
// (user.overlay.opaque=y), which needs no privilege.
func MakeUserOpaque(p string) error {
	if err := unix.Lsetxattr(p, UserOpaqueXattr, []byte("y"), 0); err != nil {
		return &os.PathError{Op: "setxattr", Path: p, Err: err}
	}
	return nil
}

// NoPrivilege reports whether err from MakeWhiteout or MakeOpaque means
// the process lacks the privilege, or the file system the xattrs (the
// store then keeps deletions in its index only).
func NoPrivilege(err error) bool {
	return errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOTSUP)
}
