package cli

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
)

// TestConcurrentProcesses: 16 winlayer import processes at once on one
// store, beside processes running ls and cleanup in a loop, over several
// rounds: every command exits 0 and every layer exports to its bytes.
func TestConcurrentProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a few hundred processes")
	}
	const imports, rounds = 16, 5
	store := t.TempDir()
	in := readFile(t, "sample.rebuilt.tar")
	cli := func(stdin []byte, args ...string) ([]byte, error) {
		cmd := exec.Command(os.Args[0], append([]string{"--store", store}, args...)...)
		cmd.Env = append(os.Environ(), "WINLAYER_TEST_CLI=1")
		cmd.Stdin = bytes.NewReader(stdin)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		out, err := cmd.Output()
		if err != nil {
			err = fmt.Errorf("%v: %w: %s", args, err, errb.String())
		}
		return out, err
	}
	var loopRuns atomic.Int64
	for round := 0; round < rounds; round++ {
		stop := make(chan struct{})
		var wg, loops sync.WaitGroup
		errs := make(chan error, 1000)
		for _, verb := range []string{"ls", "cleanup"} {
			loops.Add(1)
			go func() {
				defer loops.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := cli(nil, verb); err != nil {
						errs <- err
					}
					loopRuns.Add(1)
				}
			}()
		}
		for i := 0; i < imports; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := cli(in, "import", fmt.Sprintf("r%d-%d", round, i)); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(stop)
		loops.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("round %d: %v", round, err)
		}
		for i := 0; i < imports; i++ {
			out, err := cli(nil, "export", fmt.Sprintf("r%d-%d", round, i))
			if err != nil || !bytes.Equal(out, in) {
				t.Errorf("round %d: export %d: %v (%d bytes)", round, i, err, len(out))
			}
		}
	}
	t.Logf("%d imports, %d ls/cleanup runs beside them", imports*rounds, loopRuns.Load())
}
