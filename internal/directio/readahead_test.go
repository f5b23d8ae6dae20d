package directio

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// gatedReader returns 10 bytes per Read, each Read waiting for a token.
type gatedReader struct {
	gate  chan struct{}
	reads atomic.Int32
}

func (g *gatedReader) Read(p []byte) (int, error) {
	<-g.gate
	g.reads.Add(1)
	return copy(p, "0123456789"), nil
}

// TestReadAheadCloseStopsReading: Close returns at once although the
// read-ahead is in the middle of a Read of its source, and after that
// Read the source is not read again (before, Close waited for the Read,
// and the goroutine went on filling its 1 MiB block).
func TestReadAheadCloseStopsReading(t *testing.T) {
	g := &gatedReader{gate: make(chan struct{})}
	ra := NewReadAhead(context.Background(), g)
	g.gate <- struct{}{}
	g.gate <- struct{}{} // the third Read now waits for its token
	closed := make(chan struct{})
	go func() { ra.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(time.Second):
		t.Fatal("Close waits for the source")
	}
	before := g.reads.Load()
	close(g.gate) // every Read may now proceed
	<-ra.done
	if extra := g.reads.Load() - before; extra > 1 {
		t.Errorf("%d Reads of the source after Close, want at most the one in progress", extra)
	}
}
