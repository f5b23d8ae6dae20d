package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"
)

// pullConfig is the command line of "winbench pull".
type pullConfig struct {
	dir      string
	scale    float64
	runs     int
	warmup   int
	jobs     int
	jsonPath string
	keep     bool
	tar      string
	skopeo   string
	profile  string
	settle   time.Duration

	stdout, stderr io.Writer
}

// pullReport is everything "winbench pull" measured (written by --json).
type pullReport struct {
	Machine  machine     `json:"machine"`
	Command  string      `json:"command"`
	Scale    float64     `json:"scale"`
	Profiles []string    `json:"cpu_profiles,omitempty"`
	Runs     int         `json:"runs"`
	Warmup   int         `json:"warmup"`
	Jobs     int         `json:"jobs"`
	Dir      string      `json:"dir"`
	Registry string      `json:"registry"`
	Skopeo   string      `json:"skopeo_version"`
	Layers   []pullLayer `json:"layers"`
	// TarBytes, GzipBytes and ZstdBytes are the image's sizes.
	TarBytes   int64   `json:"tar_bytes"`
	GzipBytes  int64   `json:"gzip_bytes"`
	ZstdBytes  int64   `json:"zstd_bytes"`
	GenSeconds float64 `json:"generate_seconds"`
	// The measured steps.
	PullGzip   opResult `json:"winlayer_pull_gzip"`
	PullZstd   opResult `json:"winlayer_pull_zstd"`
	SkopeoCopy opResult `json:"skopeo_copy"`
	TarExtract opResult `json:"tar_xzf"`
	SkopeoTar  opResult `json:"skopeo_copy_plus_tar_xzf"`
	FloorGzip  opResult `json:"floor_gzip"`
	FloorZstd  opResult `json:"floor_zstd"`
	// DigestsGzip and DigestsZstd are the floor plus the two sha256 a
	// pull must compute (the blob's digest and the tar's DiffID).
	DigestsGzip opResult `json:"floor_digests_gzip"`
	DigestsZstd opResult `json:"floor_digests_zstd"`
	LoadBefore  string   `json:"load_before,omitempty"`
	LoadAfter   string   `json:"load_after,omitempty"`
}

// newPullCmd returns "winbench pull".
func newPullCmd() *cobra.Command {
	cfg := pullConfig{scale: 1, runs: 3, warmup: 1, jobs: 3, tar: "tar", skopeo: "skopeo", settle: time.Minute}
	cmd := &cobra.Command{
		Use:   "pull",
		Short: "benchmark winlayer's image pull against skopeo copy + tar -xzf and the decompression floor",
		Long: `pull generates a Windows image (at --scale 1 about 1.1 GiB of layer tar in 4
layers, compressible content), compresses its layers with gzip and with zstd,
serves both images from a registry on 127.0.0.1 (Debian's docker-registry,
else go-containerregistry's in-process registry) and times, --runs times in
rotating order, each in a process of its own after sync(2):

  winlayer pull (gzip)   the image pulled into an empty store
  skopeo copy + tar      skopeo copy docker://… oci:DIR, then tar -xzf of each
                         layer blob into a directory of its own, one after the other
  floor (gzip)           every layer blob decompressed to nothing, as many at once
                         as there are CPUs (klauspost/compress, what winlayer uses)
  floor + digests (gzip) the same, also hashing each blob and its tar (sha256):
                         the part of a pull's work that writes nothing
  winlayer pull (zstd)   the same image with zstd layers
  floor (zstd), floor + digests (zstd)

and checks that every pulled layer exports to its DiffID and that tar
extracted every file.

The report ends with what each speed target leaves: a pull that is to take
at most T seconds on N CPUs has at most N×T CPU seconds, of which floor +
digests takes its share; the rest is set against the pull's kernel time
(creating and writing the files) and its other user time, and the zstd
speed-up is bounded by the CPU time neither pull can skip.`,
		Example: `  go run ./cmd/winbench pull --scale 0.1 --runs 1
  go run ./cmd/winbench pull --json pull.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.stdout, cfg.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runPull(cmd.Context(), cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.dir, "dir", "", "work `DIR` (default: a new temporary directory under /var/tmp)")
	f.Float64Var(&cfg.scale, "scale", cfg.scale, "multiply every size and count by `F` (0.1 for a quick run)")
	f.IntVar(&cfg.runs, "runs", cfg.runs, "timed runs of each step (the median is reported)")
	f.IntVar(&cfg.warmup, "warmup", cfg.warmup, "untimed rounds before the timed ones")
	f.IntVar(&cfg.jobs, "jobs", cfg.jobs, "layers winlayer pulls at once")
	f.StringVar(&cfg.jsonPath, "json", "", "also write the raw results to `FILE`")
	f.BoolVar(&cfg.keep, "keep", false, "keep the work directory's contents")
	f.StringVar(&cfg.tar, "tar", cfg.tar, "the GNU tar `PROGRAM`")
	f.StringVar(&cfg.skopeo, "skopeo", cfg.skopeo, "the skopeo `PROGRAM`")
	f.DurationVar(&cfg.settle, "settle", cfg.settle, "wait until this long after the start before the first round, as winbench's import benchmark does (ext4 without a journal skips recently deleted inodes one by one: files created right after a large deletion are many times slower to create)")
	f.StringVar(&cfg.profile, "cpuprofile", "", "after the timed runs, pull each image once more with a CPU profile, written to `DIR`/pull-{gzip,zstd}.pprof")
	return cmd
}

// pullBench holds the state of a pull benchmark run.
type pullBench struct {
	cfg    pullConfig
	self   string
	dir    string
	rep    pullReport
	layers []pullLayer
	gzRef  string
	zsRef  string
}

func (b *pullBench) logf(format string, args ...any) {
	fmt.Fprintf(b.cfg.stderr, "winbench pull: "+format+"\n", args...)
}

func runPull(ctx context.Context, cfg pullConfig) (err error) {
	started := time.Now()
	if !(cfg.scale > 0) || cfg.runs < 1 || cfg.warmup < 0 || cfg.jobs < 1 {
		return fmt.Errorf("--scale %v, --runs %d, --warmup %d, --jobs %d: want a positive scale, runs and jobs", cfg.scale, cfg.runs, cfg.warmup, cfg.jobs)
	}
	for _, p := range []string{cfg.tar, cfg.skopeo} {
		if _, err := exec.LookPath(p); err != nil {
			return fmt.Errorf("%s: %w (apt-get install skopeo tar)", p, err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir, cleanup, err := workDir(cfg.dir)
	if err != nil {
		return err
	}
	b := &pullBench{cfg: cfg, self: self, dir: dir}
	defer func() {
		switch {
		case cfg.keep:
		case err != nil:
			b.logf("keeping %s for inspection", dir)
		default:
			for _, sub := range []string{"blobs", "registry", "runs"} {
				os.RemoveAll(filepath.Join(dir, sub))
			}
			cleanup()
		}
	}()
	b.rep = pullReport{Machine: machineFacts(cfg.tar, dir), Scale: cfg.scale, Runs: cfg.runs, Warmup: cfg.warmup, Jobs: cfg.jobs, Dir: dir,
		Command: fmt.Sprintf("go run ./cmd/winbench pull --scale %g --runs %d --warmup %d --jobs %d", cfg.scale, cfg.runs, cfg.warmup, cfg.jobs)}
	if out, err := exec.Command(cfg.skopeo, "--version").Output(); err == nil {
		b.rep.Skopeo = string(trimLine(out))
	}
	b.logf("%s", b.rep.Machine)
	b.logf("work dir %s", dir)

	blobs := filepath.Join(dir, "blobs")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return err
	}
	start := time.Now()
	b.logf("generating %d layers and compressing them with gzip and zstd", len(pullLayers))
	if b.layers, err = makePullLayers(ctx, blobs, cfg.scale); err != nil {
		return err
	}
	b.rep.GenSeconds = time.Since(start).Seconds()
	b.rep.Layers = b.layers
	for i, l := range b.layers {
		b.rep.TarBytes += l.Gen.TarBytes
		b.rep.GzipBytes += l.Gzip.Size
		b.rep.ZstdBytes += l.Zstd.Size
		b.logf("layer %d: %s, %d files, %s tar, %s gzip, %s zstd", i+1, l.Gen.Kind, l.Gen.Files,
			units.BytesSize(float64(l.Gen.TarBytes)), units.BytesSize(float64(l.Gzip.Size)), units.BytesSize(float64(l.Zstd.Size)))
	}
	b.logf("image: %s of tar, %s gzip, %s zstd, made in %.1f s", units.BytesSize(float64(b.rep.TarBytes)),
		units.BytesSize(float64(b.rep.GzipBytes)), units.BytesSize(float64(b.rep.ZstdBytes)), b.rep.GenSeconds)

	reg, err := startRegistry(ctx, dir)
	if err != nil {
		return err
	}
	defer reg.Close()
	b.rep.Registry = reg.Kind
	b.logf("registry: %s on %s", reg.Kind, reg.Host)
	if b.gzRef, b.zsRef, err = pushBenchImages(ctx, reg.Host, b.layers); err != nil {
		return err
	}
	b.logf("pushed %s and %s", b.gzRef, b.zsRef)
	if wait := cfg.settle - time.Since(started); wait > 0 {
		b.logf("waiting %.0f s before the first round (--settle)", wait.Seconds())
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}

	if err := b.rounds(ctx); err != nil {
		return err
	}
	if err := b.check(ctx); err != nil {
		return err
	}
	if cfg.profile != "" {
		if err := b.profile(); err != nil {
			return err
		}
	}
	printPullReport(b.cfg.stdout, &b.rep)
	if cfg.jsonPath != "" {
		j, err := json.MarshalIndent(&b.rep, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(cfg.jsonPath, append(j, '\n'), 0o644)
	}
	return nil
}

// run i's directories: stores, skopeo's layout, tar's trees.
func (b *pullBench) runDir(i int, what string) string {
	return filepath.Join(b.dir, "runs", strconv.Itoa(i+1), what)
}

// pullStep is one measured step of a round.
type pullStep struct {
	name string
	do   func(i int) (runResult, error)
	op   *opResult
}

// rounds runs the warm-up and timed rounds, rotating the order of the
// steps from round to round.
func (b *pullBench) rounds(ctx context.Context) error {
	gz, zs := make([]string, len(b.layers)), make([]string, len(b.layers))
	for i, l := range b.layers {
		gz[i], zs[i] = l.Gzip.Path, l.Zstd.Path
	}
	child := func(args ...string) func(int) (runResult, error) {
		return func(int) (runResult, error) {
			return measure(append([]string{b.self, "child"}, args...), true)
		}
	}
	pull := func(ref, what string) func(int) (runResult, error) {
		return func(i int) (runResult, error) {
			return measure([]string{b.self, "child", "pull", "--jobs", strconv.Itoa(b.cfg.jobs), b.runDir(i, what), ref}, true)
		}
	}
	floor := func(digests bool, blobs []string) func(int) (runResult, error) {
		args := []string{"floor", "--jobs", strconv.Itoa(runtime.NumCPU())}
		if digests {
			args = append(args, "--digests")
		}
		return child(append(args, blobs...)...)
	}
	steps := []pullStep{
		{"winlayer pull (gzip)", pull(b.gzRef, "store-gzip"), &b.rep.PullGzip},
		{"skopeo copy + tar -xzf", b.skopeoTar, &b.rep.SkopeoTar},
		{"floor (gzip)", floor(false, gz), &b.rep.FloorGzip},
		{"floor + digests (gzip)", floor(true, gz), &b.rep.DigestsGzip},
		{"winlayer pull (zstd)", pull(b.zsRef, "store-zstd"), &b.rep.PullZstd},
		{"floor (zstd)", floor(false, zs), &b.rep.FloorZstd},
		{"floor + digests (zstd)", floor(true, zs), &b.rep.DigestsZstd},
	}
	b.rep.LoadBefore = loadAvg()
	for r := range b.cfg.warmup + b.cfg.runs {
		i := r // run index: its directories
		warm := r < b.cfg.warmup
		for k := range steps {
			if err := ctx.Err(); err != nil {
				return err
			}
			s := steps[(k+r)%len(steps)]
			res, err := s.do(i)
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			if warm {
				b.logf("warm-up %d/%d: %-24s %7.3f s (not counted)", r+1, b.cfg.warmup, s.name, res.Seconds)
				continue
			}
			res.First = k == 0
			s.op.Runs = append(s.op.Runs, res)
			b.logf("run %d/%d: %-24s %7.3f s (cpu %.3f s, sync after %.3f s, peak RSS %.1f MiB)%s", r-b.cfg.warmup+1, b.cfg.runs,
				s.name, res.Seconds, res.UserSeconds+res.SysSeconds, res.SyncAfterSeconds, mib(res.PeakRSSKiB), layerTimes(res.Layers))
		}
	}
	b.rep.LoadAfter = loadAvg()
	for _, op := range []*opResult{&b.rep.PullGzip, &b.rep.PullZstd, &b.rep.SkopeoCopy, &b.rep.TarExtract, &b.rep.SkopeoTar, &b.rep.FloorGzip, &b.rep.FloorZstd, &b.rep.DigestsGzip, &b.rep.DigestsZstd} {
		op.summarize()
	}
	return nil
}

// skopeoTar is how a user gets the layers without winlayer: skopeo copy
// of the gzip image to an OCI layout, then tar -xzf of each layer blob
// into a directory of its own, one after the other. Its result is the
// sum of the processes' times; the parts are kept in SkopeoCopy and
// TarExtract (when the run is timed).
func (b *pullBench) skopeoTar(i int) (runResult, error) {
	layout := b.runDir(i, "skopeo-oci")
	if err := os.MkdirAll(filepath.Dir(layout), 0o755); err != nil {
		return runResult{}, err
	}
	sk, err := measure([]string{b.cfg.skopeo, "copy", "--quiet", "--insecure-policy", "--src-tls-verify=false",
		"docker://" + b.gzRef, "oci:" + layout + ":latest"}, false)
	if err != nil {
		return sk, err
	}
	var tx runResult
	for n, l := range b.layers {
		tree := filepath.Join(b.runDir(i, "tar-trees"), fmt.Sprintf("layer-%d", n+1))
		if err := os.MkdirAll(tree, 0o755); err != nil {
			return tx, err
		}
		blob := filepath.Join(layout, "blobs", l.Gzip.Digest.Algorithm, l.Gzip.Digest.Hex)
		r, err := measure([]string{b.cfg.tar, "--warning=no-unknown-keyword", "-xzf", blob, "-C", tree}, false)
		if err != nil {
			return tx, err
		}
		tx.add(r)
	}
	tx.Command = []string{b.cfg.tar, "--warning=no-unknown-keyword", "-xzf", "BLOB", "-C", "DIR", fmt.Sprintf("(×%d)", len(b.layers))}
	if i >= b.cfg.warmup {
		b.rep.SkopeoCopy.Runs = append(b.rep.SkopeoCopy.Runs, sk)
		b.rep.TarExtract.Runs = append(b.rep.TarExtract.Runs, tx)
	}
	both := sk
	both.Command = append(append([]string{}, sk.Command...), tx.Command...)
	both.add(tx)
	both.PeakRSSKiB, both.MaxRSSKiB = sk.PeakRSSKiB, sk.MaxRSSKiB // skopeo's: tar's is its own line
	return both, nil
}

// add adds r's times to s and keeps the larger peaks.
func (s *runResult) add(r runResult) {
	s.Seconds += r.Seconds
	s.WallSeconds += r.WallSeconds
	s.UserSeconds += r.UserSeconds
	s.SysSeconds += r.SysSeconds
	s.SyncAfterSeconds += r.SyncAfterSeconds
	s.PeakRSSKiB = max(s.PeakRSSKiB, r.PeakRSSKiB)
	s.MaxRSSKiB = max(s.MaxRSSKiB, r.MaxRSSKiB)
}

// profile pulls each image once more into a new store, with a CPU profile.
func (b *pullBench) profile() error {
	dir, err := filepath.Abs(b.cfg.profile)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	i := b.cfg.warmup + b.cfg.runs
	for _, c := range []struct{ what, ref string }{{"gzip", b.gzRef}, {"zstd", b.zsRef}} {
		out := filepath.Join(dir, "pull-"+c.what+".pprof")
		r, err := measure([]string{b.self, "child", "--cpuprofile", out, "pull", "--jobs", strconv.Itoa(b.cfg.jobs), b.runDir(i, "store-"+c.what), c.ref}, true)
		if err != nil {
			return fmt.Errorf("profiled pull (%s): %w", c.what, err)
		}
		b.logf("profiled pull (%s): %.3f s (cpu %.3f s) → %s", c.what, r.Seconds, r.UserSeconds+r.SysSeconds, out)
		b.rep.Profiles = append(b.rep.Profiles, out)
	}
	return nil
}

// layerTimes describes when each layer of a pull was done ("" for none).
func layerTimes(ls []layerTime) string {
	if len(ls) == 0 {
		return ""
	}
	s := "; layers done at"
	for _, l := range ls {
		s += fmt.Sprintf(" %d: %.2f s", l.Layer, l.Done)
	}
	return s
}
