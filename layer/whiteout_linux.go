package layer

import (
	"os"
	"syscall"

	"errors"

	"golang.org/x/sys/unix"
)

// Overlayfs conventions for deletions in a layer's Files tree: a whiteout
// is a character device 0/0, an opaque directory carries the xattr
// trusted.overlay.opaque=y.
const opaqueXattr = "trusted.overlay.opaque"

// makeWhiteout creates an overlay whiteout at p. Without the privilege to
// create devices (not root) it does nothing: such a store cannot be
// mounted with overlayfs anyway, and the index keeps the tombstone.
func makeWhiteout(p string) error {
	err := unix.Mknod(p, unix.S_IFCHR, 0)
	if errors.Is(err, unix.EPERM) {
		return nil
	}
	return err
}

// makeOpaque marks directory p opaque for overlayfs (ignored without privilege).
func makeOpaque(p string) error {
	err := unix.Setxattr(p, opaqueXattr, []byte("y"), 0)
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOTSUP) {
		return nil
	}
	return err
}

// isWhiteout reports whether a file mode and device number are an overlay whiteout.
func isWhiteoutDev(mode uint32, rdev uint64) bool {
	return mode&unix.S_IFMT == unix.S_IFCHR && rdev == 0
}

// isOpaque reports whether directory p is marked opaque.
func isOpaque(p string) bool {
	var b [1]byte
	n, err := unix.Lgetxattr(p, opaqueXattr, b[:])
	return err == nil && n == 1 && b[0] == 'y'
}

// sysExchange swaps two directories atomically (renameat2 RENAME_EXCHANGE).
func sysExchange(a, b string) error {
	return unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
}

// isWhiteoutFile reports whether fi is an overlay whiteout (char device 0/0).
func isWhiteoutFile(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && isWhiteoutDev(st.Mode, st.Rdev)
}

// fileAtime returns the access time of fi in nanoseconds.
func fileAtime(fi os.FileInfo) (int64, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return st.Atim.Nano(), true
}

// fileLinkKey returns the device and inode of fi and its link count.
func fileLinkKey(fi os.FileInfo) ([2]uint64, uint64, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return [2]uint64{}, 0, false
	}
	return [2]uint64{uint64(st.Dev), st.Ino}, uint64(st.Nlink), true
}
