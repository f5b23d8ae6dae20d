package layer

import (
	"os"
	"syscall"

	"github.com/winlayer/winlayer/internal/overlay"
)

// Overlayfs conventions for deletions in a layer's Files tree live in
// internal/overlay (shared with the driver).

// makeWhiteout creates an overlay whiteout at p. Without the privilege to
// create devices (not root) it does nothing: such a store cannot be
// mounted with overlayfs anyway, and the index keeps the tombstone.
func makeWhiteout(p string) error {
	err := overlay.MakeWhiteout(p)
	if err != nil && overlay.NoPrivilege(err) {
		return nil
	}
	return err
}

// makeOpaque marks directory p opaque for overlayfs (ignored without privilege).
func makeOpaque(p string) error {
	err := overlay.MakeOpaque(p)
	if err != nil && overlay.NoPrivilege(err) {
		return nil
	}
	return err
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
