package cli

import (
	"os"
	"strings"
	"testing"
)

// TestExportRefusesTerminal: export to a real terminal (a pseudo-terminal)
// is refused with a usage error, while /dev/null, also a character
// device, is not taken for one.
func TestExportRefusesTerminal(t *testing.T) {
	pty, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer pty.Close()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if !isTerminal(pty) || isTerminal(null) {
		t.Fatalf("isTerminal: pty %v, /dev/null %v", isTerminal(pty), isTerminal(null))
	}
	store := importSample(t)
	errOut, code := runOut(t, pty, "--store", store, "export", "base")
	if code != 2 || !strings.Contains(errOut, "refusing to write a tar to a terminal") {
		t.Errorf("export to a terminal: %d %q", code, errOut)
	}
}
