package image

import (
	"errors"
	"io"
	"sync"

	"github.com/winlayer/winlayer/internal/decompress"
)

// Compression is the format of a layer blob as found by its magic bytes.
type Compression string

// The formats recognised (internal/decompress's, by their magic bytes).
const (
	CompressionNone = Compression(decompress.None)
	CompressionGzip = Compression(decompress.Gzip)
	CompressionZstd = Compression(decompress.Zstd)
)

// errDecoderReleased is returned by a guardedReader read after close.
var errDecoderReleased = errors.New("layer stream closed")

// guardedReader lets a decoder be released while a goroutine that the
// import left behind may still be reading it: close waits for a read in
// progress to return, and later reads fail instead of touching the
// released decoder.
type guardedReader struct {
	mu     sync.Mutex
	r      io.Reader
	closed bool
}

// Read implements io.Reader.
func (g *guardedReader) Read(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return 0, errDecoderReleased
	}
	return g.r.Read(p)
}

// close waits for a read in progress and makes the reader refuse more.
func (g *guardedReader) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}
