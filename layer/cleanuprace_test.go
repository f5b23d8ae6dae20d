package layer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestConcurrentCleanupOfOneRemoval: several processes clear the same
// <id>-removing directory at once — an rm deleting its layer while
// another command opens the store (which runs Cleanup), or two cleanups —
// and none fails: a directory the other removal deleted first is simply
// gone. Before, the loser failed with "readdirent …: no such file or
// directory", and so did the import or pull that had only opened the
// store.
func TestConcurrentCleanupOfOneRemoval(t *testing.T) {
	home := t.TempDir()
	s, err := Open(home)
	mustDo(t, err)
	for round := range 3 {
		gone := filepath.Join(home, "x-removing")
		for i := range 20 {
			for j := range 20 {
				d := filepath.Join(gone, "Files", fmt.Sprintf("d%d", i), fmt.Sprintf("e%d", j))
				mustDo(t, os.MkdirAll(d, 0o755))
				for k := range 3 {
					mustDo(t, os.WriteFile(filepath.Join(d, fmt.Sprintf("f%d", k)), nil, 0o644))
				}
			}
		}
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.Cleanup(context.Background())
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d: cleanup %d beside the others: %v", round, i, err)
			}
		}
		if _, err := os.Lstat(gone); !os.IsNotExist(err) {
			t.Fatalf("round %d: %s still there: %v", round, gone, err)
		}
	}
}
