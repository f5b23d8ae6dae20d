package layer

import (
	"os"

	"golang.org/x/sys/unix"
)

// freeBytes returns the bytes free for new data on the file system of
// dir (for root including the blocks reserved for root), -1 when it
// cannot tell.
func freeBytes(dir string) int64 {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil || st.Bsize <= 0 {
		return -1
	}
	blocks := st.Bavail
	if os.Geteuid() == 0 {
		blocks = st.Bfree
	}
	if blocks > uint64(1<<62)/uint64(st.Bsize) {
		return 1 << 62
	}
	return int64(blocks) * int64(st.Bsize)
}
