//go:build !linux

package directio

import (
	"bufio"
	"os"
)

// StreamWriter writes a file from start to end; here through a buffer
// and the page cache.
type StreamWriter struct {
	bw *bufio.Writer
}

// NewStreamWriter starts writing f (an empty file opened for writing,
// which the caller closes after Close) from offset 0.
func NewStreamWriter(f *os.File) *StreamWriter {
	return &StreamWriter{bw: bufio.NewWriterSize(f, 256<<10)}
}

// Write implements io.Writer.
func (w *StreamWriter) Write(p []byte) (int, error) { return w.bw.Write(p) }

// Close writes what is left.
func (w *StreamWriter) Close() error { return w.bw.Flush() }
