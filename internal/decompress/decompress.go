// Package decompress reads a layer stream that may be compressed, the
// format chosen by its magic bytes whatever a media type or file name
// says: gzip (registries' ...tar+gzip and Docker's layers), zstd
// (...tar+zstd) or none. `winlayer import`, `records dump` and the image
// pull use it, so that a damaged or cut stream is reported alike
// everywhere: an early end is "truncated gzip stream" (wrapping
// layer.ErrTruncated), a bad trailer or header says so.
package decompress

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/winlayer/winlayer/layer"
)

// Format is a stream's compression as found by its magic bytes.
type Format string

// The formats Reader recognises.
const (
	None Format = "none"
	Gzip Format = "gzip"
	Zstd Format = "zstd"
)

var (
	gzipMagic = []byte{0x1f, 0x8b, 0x08} // ID1, ID2, CM=deflate (RFC 1952)
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// Detect is the format of a stream that starts with magic (its first four
// bytes, or all of a shorter stream).
func Detect(magic []byte) Format {
	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		return Gzip
	case bytes.HasPrefix(magic, zstdMagic):
		return Zstd
	}
	return None
}

// Reader returns the uncompressed content of br (br itself when it is not
// compressed), its format, and a function that releases the decoder
// (also to be called after an error, when it is not nil). The decoder's
// errors say what happened: a stream that ends early, inside the data or
// before a gzip stream's 8-byte trailer (CRC-32 and size, without which
// the data cannot be trusted), is an error wrapping layer.ErrTruncated and
// io.ErrUnexpectedEOF.
func Reader(br *bufio.Reader) (io.Reader, Format, func(), error) {
	magic, _ := br.Peek(4)
	switch f := Detect(magic); f {
	case Gzip:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, f, nil, decodeError(f, err)
		}
		return &decodeErrors{r: zr, format: f}, f, func() { zr.Close() }, nil
	case Zstd:
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, f, nil, decodeError(f, err)
		}
		return &decodeErrors{r: zr, format: f}, f, zr.Close, nil
	}
	return br, None, func() {}, nil
}

// decodeErrors turns a decoder's errors into ones that say what happened.
type decodeErrors struct {
	r      io.Reader
	format Format
}

// Read implements io.Reader.
func (d *decodeErrors) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF {
		err = decodeError(d.format, err)
	}
	return n, err
}

// TruncatedError reports a compressed stream that ends early.
type TruncatedError struct {
	// Format is the stream's format (Gzip or Zstd).
	Format Format
}

func (e *TruncatedError) Error() string {
	return "truncated " + string(e.Format) + " stream (the download or the file is incomplete)"
}

// Is makes the error match layer.ErrTruncated and io.ErrUnexpectedEOF.
func (e *TruncatedError) Is(target error) bool {
	return target == layer.ErrTruncated || target == io.ErrUnexpectedEOF
}

func decodeError(f Format, err error) error {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return &TruncatedError{Format: f}
	case f == Gzip && errors.Is(err, gzip.ErrChecksum):
		return fmt.Errorf("gzip stream: the CRC-32 or size in its trailer does not match the data (corrupt download?): %w", err)
	case f == Gzip && errors.Is(err, gzip.ErrHeader):
		return fmt.Errorf("gzip stream: damaged header or data after its end: %w", err)
	}
	return fmt.Errorf("%s stream: %w", f, err)
}
