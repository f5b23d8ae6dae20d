//go:build unix

package atomicfile

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteSweepsDeadTemps: the temporary file a killed write left beside
// the target (no process holds it) goes with the next write of the
// target; the one a running write holds stays, and both writes succeed.
// Before, a killed write's temporary file stayed for good.
func TestWriteSweepsDeadTemps(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "index.json")
	dead := filepath.Join(dir, ".index.json.tmp-123456")
	other := filepath.Join(dir, ".other.tmp-123456")
	for _, f := range []string{dead, other} {
		if err := os.WriteFile(f, []byte("half written"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	started, finish := make(chan struct{}), make(chan struct{})
	slow := make(chan error, 1)
	go func() {
		slow <- WriteFrom(p, 0o644, func(w io.Writer) error {
			close(started)
			<-finish
			_, err := w.Write([]byte("slow"))
			return err
		})
	}()
	<-started
	if err := Write(p, []byte("fast"), 0o644); err != nil {
		t.Fatalf("write beside a running one: %v", err)
	}
	close(finish)
	if err := <-slow; err != nil {
		t.Fatalf("the running write, after another swept: %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "slow" {
		t.Errorf("target %q, want the last write's", b)
	}
	var names []string
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		names = append(names, de.Name())
	}
	if strings.Join(names, " ") != ".other.tmp-123456 index.json" {
		t.Errorf("directory holds %q, want the other target's file and index.json", names)
	}
}
