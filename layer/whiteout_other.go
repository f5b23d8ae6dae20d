//go:build !linux

package layer

import (
	"errors"
	"os"
)

func makeWhiteout(p string) error { return nil }

func makeOpaque(p string) error { return nil }

// exchange swaps two directories: not atomic without renameat2.
func exchange(a, b string) error {
	tmp := a + ".exchange"
	if err := os.Rename(a, tmp); err != nil {
		return err
	}
	if err := os.Rename(b, a); err != nil {
		return errors.Join(err, os.Rename(tmp, a))
	}
	return os.Rename(tmp, b)
}

func fileAtime(fi os.FileInfo) (int64, bool) { return 0, false }

func fileLinkKey(fi os.FileInfo) ([2]uint64, uint64, bool) { return [2]uint64{}, 0, false }
