package layer

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/winlayer/winlayer/layer/layertest"
)

// TestConcurrentCommands runs, over one store, 16 imports at once (each
// through its own Open, which cleans up as every command does) beside
// loops of ls (List) and cleanup (Cleanup), for several rounds, and
// requires no failure at all: no import may lose its staging directory
// to another's cleanup, none may commit an empty layer, and every layer
// exports to the bytes imported. Before staging was created locked, about
// 5% of parallel imports failed (".staging/...: no such file").
func TestConcurrentCommands(t *testing.T) {
	const imports, rounds = 16, 6
	home := t.TempDir()
	tars := make([][]byte, imports)
	for i := range tars {
		es := []layertest.Entry{layertest.Dir("Files"), layertest.Dir("Files/d")}
		for j := 0; j < 20; j++ {
			es = append(es, layertest.File(fmt.Sprintf("Files/d/f%02d", j), layertest.Bytes(uint64(i*100+j), 100+j*50)))
		}
		tars[i] = layertest.Tar(es...)
	}
	for round := 0; round < rounds; round++ {
		stop := make(chan struct{})
		var loops sync.WaitGroup
		var loopErrs sync.Map
		loop := func(name string, fn func(*Store) error) {
			loops.Add(1)
			go func() {
				defer loops.Done()
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					default:
					}
					s, err := Open(home)
					if err == nil {
						err = fn(s)
					}
					if err != nil {
						loopErrs.Store(fmt.Sprintf("%s %d", name, n), err)
					}
				}
			}()
		}
		loop("ls", func(s *Store) error { _, err := s.List(context.Background()); return err })
		loop("cleanup", func(s *Store) error { return s.Cleanup(context.Background()) })
		var wg sync.WaitGroup
		errs := make([]error, imports)
		for i := 0; i < imports; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := Open(home)
				if err == nil {
					_, err = s.Import(context.Background(), fmt.Sprintf("r%d-l%d", round, i), nil, bytes.NewReader(tars[i]))
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		close(stop)
		loops.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d: import %d: %v", round, i, err)
			}
		}
		loopErrs.Range(func(k, v any) bool {
			t.Errorf("round %d: %s: %v", round, k, v)
			return true
		})
		s, err := OpenReadOnly(home)
		mustDo(t, err)
		for i := 0; i < imports; i++ {
			id := fmt.Sprintf("r%d-l%d", round, i)
			m, err := s.Meta(context.Background(), id)
			if err != nil || m.Entries != 22 {
				t.Errorf("round %d: layer %s: %v %+v (an empty or missing layer)", round, id, err, m)
				continue
			}
			if got := exportAll(t, s, id); !bytes.Equal(got, tars[i]) {
				t.Errorf("round %d: layer %s exports other bytes", round, id)
			}
		}
		if t.Failed() {
			return
		}
	}
	if left, _ := os.ReadDir(filepath.Join(home, stagingDir)); len(left) != 0 {
		t.Errorf("staging left: %d names", len(left))
	}
}
