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

// termColumns is the console's width in columns, -1 when it cannot be
// read (bars are then drawn at their set width).
func termColumns(f *os.File) int {
	var info windows.ConsoleScreenBufferInfo
	if err := windows.GetConsoleScreenBufferInfo(windows.Handle(f.Fd()), &info); err != nil {
		return -1
	}
	return int(info.Window.Right - info.Window.Left + 1)
}
