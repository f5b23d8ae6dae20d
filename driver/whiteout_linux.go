package driver

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// isWhiteout reports whether fi is an overlay whiteout (char device 0/0).
func isWhiteout(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && fi.Mode()&os.ModeCharDevice != 0 && st.Rdev == 0
}

// isOpaqueDir reports whether directory p is an overlay opaque directory.
func isOpaqueDir(p string) bool {
	var b [1]byte
	n, err := unix.Lgetxattr(p, "trusted.overlay.opaque", b[:])
	return err == nil && n == 1 && b[0] == 'y'
}
