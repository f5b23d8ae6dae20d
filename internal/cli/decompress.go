package cli

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"

	"github.com/winlayer/winlayer/layer"
)

// Compressed layers are recognised by their magic bytes: gzip (what
// registries serve for application/vnd.oci.image.layer.v1.tar+gzip and
// Docker's layers) and zstd (…tar+zstd). Both are decompressed as they are
// read; other formats are named by the store's "not a tar" error.
var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// errTruncatedGzip reports a gzip stream that ends early: inside the
// compressed data, or before its 8-byte trailer (CRC-32 and size), without
// which the data cannot be trusted.
var errTruncatedGzip = &truncatedError{format: "gzip"}

// errTruncatedZstd reports a zstd stream that ends inside a frame.
var errTruncatedZstd = &truncatedError{format: "zstd"}

type truncatedError struct{ format string }

func (e *truncatedError) Error() string {
	return "truncated " + e.format + " stream (the download or the file is incomplete)"
}

// Is makes the error match layer.ErrTruncated and io.ErrUnexpectedEOF.
func (e *truncatedError) Is(target error) bool {
	return target == layer.ErrTruncated || target == io.ErrUnexpectedEOF
}

// decompress returns the uncompressed content of br: br itself, or a
// gzip or zstd decoder over it. The returned close function releases the
// decoder.
func decompress(br *bufio.Reader) (io.Reader, func(), error) {
	magic, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, gzipError(err)
		}
		return &decodeErrors{r: zr, conv: gzipError}, func() { zr.Close() }, nil
	case bytes.HasPrefix(magic, zstdMagic):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, nil, fmt.Errorf("zstd stream: %w", err)
		}
		return &decodeErrors{r: zr, conv: zstdError}, zr.Close, nil
	}
	return br, func() {}, nil
}

// decodeErrors turns a decoder's errors into ones that say what happened.
type decodeErrors struct {
	r    io.Reader
	conv func(error) error
}

func (d *decodeErrors) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF {
		err = d.conv(err)
	}
	return n, err
}

func gzipError(err error) error {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errTruncatedGzip
	case errors.Is(err, gzip.ErrChecksum):
		return fmt.Errorf("gzip stream: the CRC-32 or size in its trailer does not match the data (corrupt download?): %w", err)
	case errors.Is(err, gzip.ErrHeader):
		return fmt.Errorf("gzip stream: damaged header or data after its end: %w", err)
	}
	return err
}

func zstdError(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errTruncatedZstd
	}
	return fmt.Errorf("zstd stream: %w", err)
}
