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

// termColumns is the width of terminal f in columns: 0 when the terminal
// reports no size (a pseudo-terminal nobody sized, as some CI runners and
// `script` without a terminal give), where progress bars would draw
// nothing.
func termColumns(f *os.File) int {
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0
	}
	return int(ws.Col)
}
