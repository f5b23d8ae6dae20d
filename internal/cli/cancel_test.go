package cli

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	lt "github.com/winlayer/winlayer/layer/layertest"
)

// TestImportCancelStalledStdin: an import whose standard input sends
// nothing (`sleep 100 | winlayer import x`), or stops in the middle of
// the tar, ends within a second of the cancel that Ctrl-C makes, exits 1
// saying so, and leaves no layer and no staging debris. Before, an input
// that sent nothing kept the import waiting (gzip detection read outside
// the import's context) and Ctrl-C did nothing.
func TestImportCancelStalledStdin(t *testing.T) {
	in := readFile(t, "sample.rebuilt.tar")
	for _, tc := range []struct {
		name string
		sent []byte
	}{
		{"nothing sent", nil},
		{"half the tar", in[:len(in)/2]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := t.TempDir()
			pr, pw := io.Pipe()
			defer pw.Close()
			go pw.Write(tc.sent)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var out, errb bytes.Buffer
			done := make(chan int, 1)
			go func() { done <- Main(ctx, []string{"--store", store, "import", "x"}, pr, &out, &errb) }()
			time.Sleep(200 * time.Millisecond)
			cancel()
			start := time.Now()
			select {
			case code := <-done:
				took := time.Since(start)
				t.Logf("exit %d after %v: %s", code, took, strings.TrimSpace(errb.String()))
				if code != 1 || !strings.Contains(errb.String(), "context canceled") || !strings.Contains(errb.String(), "cancelled after") || took > time.Second {
					t.Errorf("exit %d after %v, stderr %q; want 1 within 1s, saying it was cancelled", code, took, errb.String())
				}
			case <-time.After(3 * time.Second):
				t.Fatal("import still running 3s after the cancel")
			}
			if left, err := lt.Leftovers(store); err != nil || len(left) != 0 {
				t.Errorf("left in the store: %q, %v", left, err)
			}
		})
	}
}
