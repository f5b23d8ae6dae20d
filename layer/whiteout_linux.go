package layer

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/winlayer/winlayer/internal/overlay"
)

// Overlayfs conventions for deletions in a layer's Files tree live in
// internal/overlay (shared with the driver).

// makeWhiteout creates an overlay whiteout at p: a character device 0/0,
// or without the privilege to create devices (not root) overlayfs' xattr
// form (user.overlay.whiteout), which unprivileged readers of the store
// (the driver's Changes, export of a changed layer) honour. Where neither
// can be made it does nothing: the index keeps the tombstone.
func makeWhiteout(p string) error {
	if err := overlay.Whiteout(p); err != nil && !overlay.NoPrivilege(err) {
		return err
	}
	return nil
}

// makeOpaque marks directory p opaque for overlayfs: trusted.overlay.opaque,
// or without privilege user.overlay.opaque (ignored where neither works).
func makeOpaque(p string) error {
	if err := overlay.Opaque(p); err != nil && !overlay.NoPrivilege(err) {
		return err
	}
	return nil
}

// exchange swaps two directories atomically (renameat2 RENAME_EXCHANGE).
func exchange(a, b string) error {
	return unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
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
