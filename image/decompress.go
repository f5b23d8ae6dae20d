package image

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/winlayer/winlayer/layer"
)

// Compression formats recognised by their magic bytes, whatever the media
// type says (a registry may serve gzip under an uncompressed media type or
// the reverse).
var (
	gzipMagic = []byte{0x1f, 0x8b, 0x08}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// Compression is the format of a layer blob as found by its magic bytes.
type Compression string

// The formats decompress recognises.
const (
	CompressionNone Compression = "none"
	CompressionGzip Compression = "gzip"
	CompressionZstd Compression = "zstd"
)

// decompress returns the uncompressed content of br (gzip, zstd or none,
// chosen by the magic bytes), the format, and a function that releases
// the decoder. A stream that ends early yields an error that wraps
// layer.ErrTruncated.
func decompress(br *bufio.Reader) (io.Reader, Compression, func(), error) {
	magic, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, CompressionGzip, nil, decodeError("gzip", err)
		}
		return &decodeErrors{r: zr, format: "gzip"}, CompressionGzip, func() { zr.Close() }, nil
	case bytes.HasPrefix(magic, zstdMagic):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, CompressionZstd, nil, decodeError("zstd", err)
		}
		return &decodeErrors{r: zr, format: "zstd"}, CompressionZstd, zr.Close, nil
	}
	return br, CompressionNone, func() {}, nil
}

// decodeErrors says which decoder failed and turns an early end into
// layer.ErrTruncated.
type decodeErrors struct {
	r      io.Reader
	format string
}

// Read implements io.Reader.
func (d *decodeErrors) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF {
		err = decodeError(d.format, err)
	}
	return n, err
}

func decodeError(format string, err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("truncated %s stream (the download or the file is incomplete): %w", format, layer.ErrTruncated)
	}
	return fmt.Errorf("%s stream: %w", format, err)
}

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
