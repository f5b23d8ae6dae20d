package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"

	"github.com/spf13/cobra"

	"github.com/winlayer/winlayer/internal/nocache"
	"github.com/winlayer/winlayer/layer"
)

// childResult is what a measured child process prints on standard output
// (one JSON object) for its parent.
type childResult struct {
	// Seconds is the duration of the library call alone (layer.Open and
	// Import, or layer.Open, Export and the copy to the output file).
	Seconds float64 `json:"seconds"`
	// Bytes is what Import returned (the files' total size) or the number
	// of bytes Export produced.
	Bytes int64 `json:"bytes"`
	// PeakRSSKiB is the process's own peak resident set (VmHWM), read at
	// the end; -1 where the OS does not say.
	PeakRSSKiB int64 `json:"peak_rss_kib"`
	// Layers are when each layer of a pull started and was done.
	Layers []layerTime `json:"layers,omitempty"`
}

// layerTime is when one layer of a pull started downloading and was
// imported and verified, in seconds from the start of the pull.
type layerTime struct {
	Layer int     `json:"layer"`
	Start float64 `json:"start_seconds"`
	Done  float64 `json:"done_seconds"`

	start, done time.Time
}

// newChildCmd returns the hidden "child" command the benchmark re-executes
// itself with, so that each measured library call runs in a process of
// its own whose peak RSS and CPU time can be read.
func newChildCmd() *cobra.Command {
	var cpuprofile string
	child := &cobra.Command{
		Use:    "child",
		Short:  "run one measured winlayer operation (used by winbench itself)",
		Hidden: true,
	}
	child.PersistentFlags().StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile of the library call to `FILE`")
	child.AddCommand(&cobra.Command{
		Use:   "import STORE ID TAR",
		Short: "import TAR as layer ID of the store in STORE",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runChild(cmd.OutOrStdout(), cpuprofile, func() (int64, error) {
				return childImport(cmd.Context(), args[0], args[1], args[2])
			})
		},
	}, &cobra.Command{
		Use:   "export STORE ID OUT",
		Short: "export layer ID of the store in STORE to the file OUT",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runChild(cmd.OutOrStdout(), cpuprofile, func() (int64, error) {
				return childExport(cmd.Context(), args[0], args[1], args[2])
			})
		},
	})
	child.AddCommand(newChildPullCmds(&cpuprofile)...)
	return child
}

// runChild times op (profiling it to cpuprofile if set) and prints its
// childResult to w.
func runChild(w io.Writer, cpuprofile string, op func() (int64, error)) error {
	return runChildLayers(w, cpuprofile, op, nil)
}

// runChildLayers is runChild for an op that records the times of its
// layers in *layers.
func runChildLayers(w io.Writer, cpuprofile string, op func() (int64, error), layers *[]layerTime) error {
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	start := time.Now()
	n, err := op()
	elapsed := time.Since(start)
	if cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return err
	}
	res := childResult{Seconds: elapsed.Seconds(), Bytes: n, PeakRSSKiB: selfPeakRSSKiB()}
	if layers != nil {
		for _, l := range *layers {
			l.Start, l.Done = l.start.Sub(start).Seconds(), l.done.Sub(start).Seconds()
			res.Layers = append(res.Layers, l)
		}
	}
	return json.NewEncoder(w).Encode(res)
}

// childImport is the measured import: layer.Open and Store.Import of the
// tar file as it is (an *os.File, unbuffered).
func childImport(ctx context.Context, store, id, tarPath string) (int64, error) {
	f, err := os.Open(tarPath)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s, err := layer.Open(store)
	if err != nil {
		return 0, err
	}
	return s.Import(ctx, id, nil, f)
}

// childExport is the measured export: layer.Open, Store.Export and a copy
// of the stream to the file out with nocache.Copy, as "winlayer export -o
// out" does. The file is not synced, as GNU tar does not sync; the copy
// starts writeback as it goes and leaves at most a few chunks unwritten.
func childExport(ctx context.Context, store, id, out string) (int64, error) {
	s, err := layer.Open(store)
	if err != nil {
		return 0, err
	}
	rc, err := s.Export(ctx, id)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	f, err := os.Create(out)
	if err != nil {
		return 0, err
	}
	n, err := nocache.Copy(f, rc)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("export %s: %w", id, err)
	}
	return n, nil
}
