package cli

import (
	"os"

	"golang.org/x/sys/unix"
)

// isatty reports whether f is a terminal (TCGETS succeeds on it).
func isatty(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
