//go:build !linux && !windows && !darwin && !freebsd && !netbsd && !openbsd && !dragonfly

package cli

import "os"

// isatty reports whether f is a character device (a terminal, or on
// these systems possibly another device: refusing those is the safe side).
func isatty(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// termColumns is unknown here (-1): bars are drawn at their set width.
func termColumns(*os.File) int { return -1 }
