package main

import (
	"bufio"
	"bytes"
	"context"
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
	floor := &cobra.Command{
		Use:   "floor BLOB...",
		Short: "decompress every gzip or zstd BLOB to nothing, several at once",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runChild(cmd.OutOrStdout(), *cpuprofile, func() (int64, error) {
				return childFloor(cmd.Context(), args, floorJobs)
			})
		},
	}
	floor.Flags().IntVar(&floorJobs, "jobs", runtime.NumCPU(), "blobs at once")
	return []*cobra.Command{pull, floor}
}

// childFloor decompresses every blob (gzip or zstd, by its magic bytes)
// to io.Discard, jobs at a time, with the decompressors winlayer uses
// (klauspost/compress), and returns the decompressed bytes.
func childFloor(ctx context.Context, blobs []string, jobs int) (int64, error) {
	var total atomic.Int64
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, jobs))
	for _, p := range blobs {
		g.Go(func() error {
			n, err := decompressFile(ctx, p)
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

func decompressFile(ctx context.Context, path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
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
	return io.Copy(io.Discard, ctxio.Reader(ctx, r))
}
