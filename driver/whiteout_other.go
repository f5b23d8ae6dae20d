//go:build !linux

package driver

import "os"

func isWhiteout(fi os.FileInfo) bool { return false }

func isOpaqueDir(p string) bool { return false }
