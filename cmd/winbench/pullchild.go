package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/winlayer/winlayer/internal/ctxio"
)

// newChildPullCmds returns the measured children of the pull benchmark:
// "pull" (winlayer's pull into a store) and "floor" (decompression of
// blobs to nothing).
func newChildPullCmds(cpuprofile *string) []*cobra.Command {
	var jobs int
	pull := &cobra.Command{
		Use:   "pull STORE REF",
		Short: "pull the image REF into the store in STORE",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var layers []layerTime
			return runChildLayers(cmd.OutOrStdout(), *cpuprofile, func() (int64, error) {
				return childPull(cmd.Context(), args[0], args[1], jobs, &layers)
			}, &layers)
		},
	}
	pull.Flags().IntVar(&jobs, "jobs", 0, "layers at once (0: the library's default)")
	var floorJobs int
	var digests bool
	floor := &cobra.Command{
		Use:   "floor BLOB...",
		Short: "decompress every gzip or zstd BLOB to nothing, several at once",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runChild(cmd.OutOrStdout(), *cpuprofile, func() (int64, error) {
				return childFloor(cmd.Context(), args, floorJobs, digests)
			})
		},
	}
	floor.Flags().IntVar(&floorJobs, "jobs", runtime.NumCPU(), "blobs at once")
	floor.Flags().BoolVar(&digests, "digests", false, "also hash each blob and its decompressed content (sha256: the two digests a pull must check)")
	return []*cobra.Command{pull, floor}
}

// childFloor decompresses every blob (gzip or zstd, by its magic bytes)
// to io.Discard, jobs at a time, with the decompressors winlayer uses
// (klauspost/compress), and returns the decompressed bytes. With digests
// it also computes the sha256 of each blob and of its decompressed
// content, as a pull must to check them (the blob digest and the DiffID),
// each on a goroutine of its own as the pull does.
func childFloor(ctx context.Context, blobs []string, jobs int, digests bool) (int64, error) {
	var total atomic.Int64
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, jobs))
	for _, p := range blobs {
		g.Go(func() error {
			n, err := decompressFile(ctx, p, digests)
			total.Add(n)
			if err != nil {
				return fmt.Errorf("decompress %s: %w", p, err)
			}
			return nil
		})
	}
	err := g.Wait()
	return total.Load(), err
}

var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

func decompressFile(ctx context.Context, path string, digests bool) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var src io.Reader = f
	if digests {
		blob := newHashingPipe(f)
		defer blob.close()
		src = blob
	}
	br := bufio.NewReaderSize(src, 1<<20)
	magic, err := br.Peek(4)
	if err != nil {
		return 0, err
	}
	var r io.Reader
	if bytes.Equal(magic, zstdMagic) {
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return 0, err
		}
		defer zr.Close()
		r = zr
	} else {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return 0, err
		}
		defer zr.Close()
		r = zr
	}
	if !digests {
		return io.Copy(io.Discard, ctxio.Reader(ctx, r))
	}
	tar := newHashingPipe(ctxio.Reader(ctx, r))
	defer tar.close()
	return io.Copy(io.Discard, tar)
}

// hashingPipe reads its source on a goroutine of its own and hashes it
// there (sha256), handing the chunks on: the hashing runs beside whoever
// reads the pipe, as a pull's digest checks do.
type hashingPipe struct {
	full chan []byte
	free chan []byte
	stop chan struct{}
	err  error // set before full is closed
	cur  []byte
	buf  []byte
}

func newHashingPipe(src io.Reader) *hashingPipe {
	const chunks, size = 4, 256 << 10
	p := &hashingPipe{full: make(chan []byte, chunks), free: make(chan []byte, chunks), stop: make(chan struct{})}
	for range chunks {
		p.free <- make([]byte, size)
	}
	go func() {
		defer close(p.full)
		h := sha256.New()
		for {
			var b []byte
			select {
			case b = <-p.free:
			case <-p.stop:
				return
			}
			// Fill the chunk; the source's own errors stay as they are
			// (a decoder's io.ErrUnexpectedEOF is a truncated blob).
			n := 0
			var err error
			for n < len(b) && err == nil {
				var m int
				m, err = src.Read(b[n:])
				n += m
			}
			h.Write(b[:n])
			if n > 0 {
				select {
				case p.full <- b[:n]:
				case <-p.stop:
					return
				}
			}
			if err != nil {
				if err == io.EOF {
					h.Sum(nil)
				}
				p.err = err
				return
			}
		}
	}()
	return p
}

func (p *hashingPipe) Read(b []byte) (int, error) {
	for len(p.cur) == 0 {
		if p.buf != nil {
			p.free <- p.buf[:cap(p.buf)]
			p.buf = nil
		}
		c, ok := <-p.full
		if !ok {
			return 0, p.err
		}
		p.cur, p.buf = c, c
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	return n, nil
}

func (p *hashingPipe) close() { close(p.stop) }
