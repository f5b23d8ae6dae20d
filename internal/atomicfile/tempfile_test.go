//go:build unix

package atomicfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

// TestCreateTempConcurrent: writers creating temporary files of one prefix
// at once, each sweeping the others' dead ones, never lose a live one,
// even one created just before its lock was taken.
func TestCreateTempConcurrent(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				f, release, err := CreateTemp(dir, "blob-")
				if err != nil {
					t.Errorf("writer %d, file %d: %v", g, i, err)
					return
				}
				_, err = f.Write([]byte("data"))
				if cerr := f.Close(); err == nil {
					err = cerr
				}
				if err == nil {
					err = os.Rename(f.Name(), filepath.Join(dir, fmt.Sprintf("done-%d-%d", g, i)))
				}
				release()
				if err != nil {
					t.Errorf("writer %d, file %d: %v", g, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if des, _ := os.ReadDir(dir); len(des) != 800 {
		t.Errorf("%d files, want the 800 written", len(des))
	}
}
