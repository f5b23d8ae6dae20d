// Command winbench compares winlayer's layer store with GNU tar on the same
// Windows layer tars, in one run, on the same disk.
//
// It generates layer tars as go-winio's exporter writes them (see
// [Generate]) — "mix" (1 GiB of mixed file sizes), "small" (100,000 small
// files) and "large" (one 1 GiB file) — and times, for each, winlayer's
// import (layer.Open + Store.Import) against `tar -xf` and winlayer's
// export (Store.Export to a file) against `tar -cf` of the tree tar
// extracted. Every measured operation runs in a child process of its own,
// after sync(2), several times in alternating order; the Markdown tables
// give the medians, CPU times and each process's peak RSS, --json every
// run. Exports are checked to be the input byte for byte.
//
//	go run ./cmd/winbench [--scale 0.1] [--only mix,small,large] [--dir DIR] [--json FILE] [--keep] [--cpuprofile DIR]
//
// Every run writes a layer or tree of its own and nothing is deleted
// before the end, so a full-scale run needs about 30 GB in the work
// directory. On ext4 without a journal, do not start it within about six
// minutes of deleting a big tree on the same file system: new inodes are
// then allocated slowly (see type bench in run.go).
//
// "winbench pull" benchmarks winlayer's image pull: it generates a
// Windows image of four layers (1.1 GiB of tar at --scale 1), serves it
// gzip- and zstd-compressed from a registry on 127.0.0.1 (Debian's
// docker-registry), and times the pull into an empty store against skopeo
// copy + tar -xzf and against the decompression floor (see newPullCmd):
//
//	go run ./cmd/winbench pull [--scale 0.1] [--runs N] [--jobs N] [--json FILE] [--cpuprofile DIR]
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "winbench: %v\n", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	cfg := config{scale: 1, runs: 4, warmup: 1, tar: "tar", settle: time.Minute}
	var only string
	root := &cobra.Command{
		Use:           "winbench",
		Short:         "benchmark winlayer's import and export against GNU tar",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.only = strings.Split(only, ",")
			cfg.stdout, cfg.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return run(cmd.Context(), cfg)
		},
	}
	f := root.Flags()
	f.StringVar(&cfg.dir, "dir", "", "work `DIR` for tars, the store and tar's trees (default: a new temporary directory under /var/tmp)")
	f.Float64Var(&cfg.scale, "scale", cfg.scale, "multiply every size and count by `F` (0.1 for a quick run)")
	f.StringVar(&only, "only", strings.Join(Kinds, ","), "comma-separated `KINDS` of layer to run")
	f.StringVar(&cfg.jsonPath, "json", "", "also write the raw results to `FILE`")
	f.BoolVar(&cfg.keep, "keep", false, "keep the work directory's contents")
	f.IntVar(&cfg.runs, "runs", cfg.runs, "runs of each measured command (the median is reported); an even number lets winlayer and GNU tar go first equally often")
	f.IntVar(&cfg.warmup, "warmup", cfg.warmup, "untimed pairs of runs before the timed ones: on a virtual machine that hands free memory back to the host, the first program to fill the page cache after a quiet spell pays for the host to back it again")
	f.StringVar(&cfg.cpuprofile, "cpuprofile", "", "after the timed runs, run one more import and export with a CPU profile each, written to `DIR`/KIND-{import,export}.pprof")
	f.StringVar(&cfg.tar, "tar", cfg.tar, "the GNU tar `PROGRAM`")
	f.DurationVar(&cfg.settle, "settle", cfg.settle, "wait until this long after the start before the first timed run: on ext4 without a journal, the inode allocator skips inodes deleted less than 60 s ago (360 s while their inode table block is not yet written back), so creating files right after many were deleted (say, by the previous benchmark's cleanup) is many times slower, whichever program creates them")
	root.AddCommand(newChildCmd(), newGenCmd(), newPullCmd())
	return root
}

// newGenCmd returns "winbench gen", which writes one generated layer tar.
func newGenCmd() *cobra.Command {
	scale := 1.0
	cmd := &cobra.Command{
		Use:   "gen KIND OUT",
		Short: "write the layer tar of KIND (mix, small, large) to the file OUT",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := GenerateFile(args[1], args[0], scale)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d files, %d dirs, %d payload bytes, %d tar bytes, sha256 %s\n",
				args[1], st.Files, st.Dirs, st.Payload, st.TarBytes, st.SHA256)
			return nil
		},
	}
	cmd.Flags().Float64Var(&scale, "scale", scale, "multiply every size and count by `F`")
	return cmd
}
