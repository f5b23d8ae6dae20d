package cli

import (
	"os"

	"golang.org/x/sys/windows"
)

// isatty reports whether f is a console.
func isatty(f *os.File) bool {
	var mode uint32
	return windows.GetConsoleMode(windows.Handle(f.Fd()), &mode) == nil
}
