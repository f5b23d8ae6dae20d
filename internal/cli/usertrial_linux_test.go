package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStdinTerminal: import, records dump and records build with standard
// input on a terminal say so and exit 2 (records dump waited for input,
// import created the store first), and import creates no store.
func TestStdinTerminal(t *testing.T) {
	pty, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer pty.Close()
	store := filepath.Join(t.TempDir(), "store")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--store", store, "import", "x"}, "import x: standard input is a terminal: give the layer tar with < layer.tar or -f FILE"},
		{[]string{"records", "dump"}, "records dump: standard input is a terminal"},
		{[]string{"records", "build"}, "records build: standard input is a terminal"},
	} {
		var out, errb bytes.Buffer
		code := Main(context.Background(), tc.args, pty, &out, &errb)
		if code != 2 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: %d %q; want 2 and %q", tc.args, code, errb.String(), tc.want)
		}
	}
	if _, err := os.Stat(store); !os.IsNotExist(err) {
		t.Errorf("import from a terminal created the store: %v", err)
	}
	// A missing -f FILE: named, and no store created either.
	_, errOut, code := run(t, nil, "--store", store, "import", "-f", "/nonexistent/layer.tar", "x")
	if code != 1 || !strings.Contains(errOut, "import x: -f: open /nonexistent/layer.tar: no such file or directory") {
		t.Errorf("import -f of a missing file: %d %q", code, errOut)
	}
	if _, err := os.Stat(store); !os.IsNotExist(err) {
		t.Errorf("import of a missing file created the store: %v", err)
	}
}
