package directio

import (
	"io"
	"sync"
)

// AsyncWriter hands what is written to it to another goroutine, which
// writes it to w: compressing the tar-split record then overlaps with the
// import instead of adding to it. Close waits for everything and returns
// the first error of w.
type AsyncWriter struct {
	ch   chan []byte
	free sync.Pool
	done chan struct{}
	err  error
}

// NewAsyncWriter starts the goroutine that writes to w.
func NewAsyncWriter(w io.Writer) *AsyncWriter {
	a := &AsyncWriter{ch: make(chan []byte, 8), done: make(chan struct{})}
	go func() {
		defer close(a.done)
		for b := range a.ch {
			if a.err == nil {
				_, a.err = w.Write(b)
			}
			b = b[:0]
			a.free.Put(&b)
		}
	}()
	return a
}

// Write queues a copy of p.
func (a *AsyncWriter) Write(p []byte) (int, error) {
	var b []byte
	if bp, ok := a.free.Get().(*[]byte); ok {
		b = *bp
	}
	a.ch <- append(b, p...)
	return len(p), nil
}

// Close flushes the queue and returns the first write error.
func (a *AsyncWriter) Close() error {
	close(a.ch)
	<-a.done
	return a.err
}
