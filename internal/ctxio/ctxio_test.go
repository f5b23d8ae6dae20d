package ctxio

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// countingReader counts the Reads that reach it.
type countingReader struct {
	r     io.Reader
	reads int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.reads++
	return c.r.Read(p)
}

// TestReaderPassesThrough: while ctx is live, the reader is r.
func TestReaderPassesThrough(t *testing.T) {
	data := bytes.Repeat([]byte("winlayer"), 10000)
	if err := iotest.TestReader(Reader(context.Background(), bytes.NewReader(data)), data); err != nil {
		t.Fatal(err)
	}
}

// TestReaderStopsOnCancel: once ctx is cancelled, Read returns its error
// and r is not read again.
func TestReaderStopsOnCancel(t *testing.T) {
	src := &countingReader{r: bytes.NewReader(make([]byte, 1000))}
	ctx, cancel := context.WithCancel(context.Background())
	r := Reader(ctx, src)
	buf := make([]byte, 10)
	if n, err := r.Read(buf); n != 10 || err != nil {
		t.Fatalf("Read before the cancel: %d, %v", n, err)
	}
	cancel()
	for range 3 {
		if n, err := r.Read(buf); n != 0 || !errors.Is(err, context.Canceled) {
			t.Fatalf("Read after the cancel: %d, %v; want 0, context.Canceled", n, err)
		}
	}
	if n, err := io.Copy(io.Discard, r); n != 0 || !errors.Is(err, context.Canceled) {
		t.Errorf("io.Copy after the cancel: %d, %v", n, err)
	}
	if src.reads != 1 {
		t.Errorf("the source was read %d times, want once (before the cancel)", src.reads)
	}
}

// TestWriterStopsOnCancel: while ctx is live, writes reach w; once it is
// cancelled, Write returns its error and w gets nothing more.
func TestWriterStopsOnCancel(t *testing.T) {
	var dst bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	w := Writer(ctx, &dst)
	if n, err := w.Write([]byte("before")); n != 6 || err != nil {
		t.Fatalf("Write before the cancel: %d, %v", n, err)
	}
	cancel()
	if n, err := w.Write([]byte("after")); n != 0 || !errors.Is(err, context.Canceled) {
		t.Errorf("Write after the cancel: %d, %v; want 0, context.Canceled", n, err)
	}
	if n, err := io.Copy(w, bytes.NewReader([]byte("copied"))); n != 0 || !errors.Is(err, context.Canceled) {
		t.Errorf("io.Copy after the cancel: %d, %v", n, err)
	}
	if dst.String() != "before" {
		t.Errorf("w got %q, want only what was written before the cancel", dst.String())
	}
}
