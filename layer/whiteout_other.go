//go:build !linux

package layer

import (
	"os"
)

func makeWhiteout(p string) error { return nil }

func makeOpaque(p string) error { return nil }

func fileAtime(fi os.FileInfo) (int64, bool) { return 0, false }

func fileLinkKey(fi os.FileInfo) ([2]uint64, uint64, bool) { return [2]uint64{}, 0, false }
