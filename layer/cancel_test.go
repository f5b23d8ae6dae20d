package layer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	lt "github.com/winlayer/winlayer/layer/layertest"
)

// cancelTar is a layer tar with a small file and a large one.
func cancelTar() []byte {
	return lt.Tar(lt.Dir("Files"),
		lt.File("Files/small.txt", lt.Bytes(1, 10000)),
		lt.File("Files/large.bin", lt.Bytes(2, 6<<20+123)))
}

// waitDone waits up to limit for done and fails the test (leaving the
// goroutine behind) when it does not come.
func waitDone[T any](t *testing.T, done <-chan T, limit time.Duration, what string) (T, time.Duration) {
	t.Helper()
	start := time.Now()
	select {
	case v := <-done:
		return v, time.Since(start)
	case <-time.After(limit):
		var zero T
		t.Fatalf("%s: still blocked %v after cancel", what, limit)
		return zero, 0
	}
}

// TestImportCancelStalledSource: an import whose source stops sending
// (before the tar, inside a header, in the middle of a small file's and
// of a large file's data) returns context.Canceled within a second of
// the cancel, and the store is as it was: no layer, no staging debris.
// Before, the import waited for the source as long as it stalled.
func TestImportCancelStalledSource(t *testing.T) {
	in := cancelTar()
	small := bytes.Index(in, lt.Bytes(1, 10000))
	large := bytes.Index(in, lt.Bytes(2, 1000))
	for _, tc := range []struct {
		name string
		at   int // bytes sent before the source stalls
	}{
		{"before the tar", 0},
		{"inside a header", 700},
		{"half a small file", small + 5000},
		{"half a large file", large + 3<<20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			s, err := Open(home)
			if err != nil {
				t.Fatal(err)
			}
			base := lt.Tar(lt.Dir("Files"), lt.File("Files/kept.txt", []byte("kept")))
			if _, err := s.Import(context.Background(), "base", nil, bytes.NewReader(base)); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, home)
			pr, pw := io.Pipe()
			defer pw.Close()
			sent := make(chan struct{})
			go func() {
				pw.Write(in[:tc.at])
				close(sent)
				// Then nothing more: the source stalls.
			}()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := s.Import(ctx, "stalled", []string{s.Dir("base")}, pr)
				done <- err
			}()
			<-sent
			time.Sleep(100 * time.Millisecond) // let the import reach the stall
			cancel()
			err, took := waitDone(t, done, 3*time.Second, "import")
			t.Logf("returned %v after cancel: %v", took, err)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("import: %v, want context.Canceled", err)
			}
			if took > time.Second {
				t.Errorf("import returned %v after cancel, want within 1s", took)
			}
			if s.Exists("stalled") {
				t.Error("the cancelled layer exists")
			}
			if after := snapshot(t, home); !slices.Equal(before, after) {
				t.Errorf("store changed:\nbefore %q\nafter  %q", before, after)
			}
		})
	}
}

// blockingWriter takes limit bytes, then blocks every Write until
// release is closed.
type blockingWriter struct {
	buf     bytes.Buffer
	limit   int
	reached chan struct{}
	release chan struct{}
}

func newBlockingWriter(limit int) *blockingWriter {
	return &blockingWriter{limit: limit, reached: make(chan struct{}), release: make(chan struct{})}
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	if w.buf.Len()+len(p) > w.limit {
		select {
		case <-w.reached:
		default:
			close(w.reached)
		}
		<-w.release
		return 0, errors.New("released")
	}
	return w.buf.Write(p)
}

// TestExportCancelBlockedWriter: an export into a destination that stops
// taking bytes (io.Copy into a blocked writer; a reader that stops
// reading) returns context.Canceled within a second of the cancel, and
// the store is unchanged. Before, it waited for the destination.
func TestExportCancelBlockedWriter(t *testing.T) {
	home := t.TempDir()
	s, err := Open(home)
	if err != nil {
		t.Fatal(err)
	}
	in := cancelTar()
	if _, err := s.Import(context.Background(), "l", nil, bytes.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	// A layer exported from its files (no tar-split record) too.
	if _, err := s.Import(context.Background(), "f", nil, bytes.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	if err := removeRecord(s, "f"); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, home)
	for _, id := range []string{"l", "f"} {
		for _, limit := range []int{0, 5000, 4 << 20} {
			t.Run(fmt.Sprintf("%s/WriteTo/%d", id, limit), func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				rc, err := s.Export(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				defer rc.Close()
				w := newBlockingWriter(limit)
				defer close(w.release)
				done := make(chan error, 1)
				go func() {
					_, err := io.Copy(w, rc)
					done <- err
				}()
				waitDone(t, w.reached, 3*time.Second, "export reaching the blocked writer")
				cancel()
				err, took := waitDone(t, done, 3*time.Second, "export")
				t.Logf("returned %v after cancel: %v", took, err)
				if !errors.Is(err, context.Canceled) || took > time.Second {
					t.Fatalf("export: %v after %v, want context.Canceled within 1s", err, took)
				}
			})
		}
		t.Run(id+"/Read", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			rc, err := s.Export(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			if _, err := io.ReadFull(rc, make([]byte, 100000)); err != nil {
				t.Fatal(err)
			}
			// The reader stops reading; the writer blocks in the pipe.
			time.Sleep(50 * time.Millisecond)
			cancel()
			done := make(chan error, 1)
			go func() {
				_, err := io.Copy(io.Discard, struct{ io.Reader }{rc})
				done <- err
			}()
			err, _ = waitDone(t, done, 3*time.Second, "export read")
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("read after cancel: %v, want context.Canceled", err)
			}
		})
	}
	if after := snapshot(t, home); !slices.Equal(before, after) {
		t.Errorf("store changed:\nbefore %q\nafter  %q", before, after)
	}
}

// removeRecord removes a layer's tar-split record: it is then exported
// from its index and files.
func removeRecord(s *Store, id string) error {
	return os.Remove(filepath.Join(s.Dir(id), metaDir, tarSplitFile))
}
