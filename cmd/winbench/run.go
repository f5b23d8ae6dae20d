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
	"slices"
	"strings"
	"time"

	units "github.com/docker/go-units"

	"github.com/winlayer/winlayer/layer"
)

// config is the command line of a benchmark run.
type config struct {
	dir        string        // work directory ("" for a new temporary one)
	scale      float64       // multiplies every size and count
	only       []string      // kinds to run
	jsonPath   string        // raw results ("" for none)
	keep       bool          // keep the work directory's contents
	runs       int           // runs per measured command
	warmup     int           // untimed pairs before the timed runs
	cpuprofile string        // directory for CPU profiles ("" for none)
	tar        string        // GNU tar
	settle     time.Duration // wait before the first timed run, counted from the start

	stdout, stderr io.Writer
}

// report is everything a benchmark run measured (written by --json).
type report struct {
	Machine machine       `json:"machine"`
	Scale   float64       `json:"scale"`
	Runs    int           `json:"runs"`
	Warmup  int           `json:"warmup"`
	Dir     string        `json:"dir"`
	Layers  []layerResult `json:"layers"`
	// ParentPeakRSSKiB is winbench's own peak RSS at the end: on Linux
	// every child's ru_maxrss is at least what it was when the child
	// started (see maxRSSKiB).
	ParentPeakRSSKiB int64 `json:"parent_peak_rss_kib"`
}

// machine holds the facts of the machine line.
type machine struct {
	NumCPU    int    `json:"nproc"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
	Tar       string `json:"tar_version"`
	FSType    string `json:"fs_type"`
	OS        string `json:"os,omitempty"`
	// Revision is the VCS revision winbench was built from ("+dirty"
	// when the work tree had changes).
	Revision string `json:"revision,omitempty"`
}

func (m machine) String() string {
	s := fmt.Sprintf("Machine: nproc %d · %s %s · %s · work dir file system %s", m.NumCPU, m.GoVersion, m.Platform, m.Tar, m.FSType)
	if m.OS != "" {
		s += " · " + m.OS
	}
	if m.Revision != "" {
		s += " · winlayer " + m.Revision
	}
	return s
}

// layerResult is the measurements of one generated tar.
type layerResult struct {
	Gen        GenStats `json:"input"`
	GenSeconds float64  `json:"generate_seconds"`
	Import     opResult `json:"winlayer_import"`
	Extract    opResult `json:"gnutar_extract"`
	Export     opResult `json:"winlayer_export"`
	Create     opResult `json:"gnutar_create"`
	// ExportSHA256 is the sha256 of winlayer's export (checked equal to
	// the input's); CreateTarBytes the size of GNU tar's tar.
	ExportSHA256   string `json:"export_sha256"`
	CreateTarBytes int64  `json:"gnutar_create_bytes"`
	// Profiles are the CPU profiles of the extra, untimed runs.
	Profiles []string `json:"cpu_profiles,omitempty"`
	// LoadBefore and LoadAfter are the 1-minute load averages before
	// and after the timed runs.
	LoadBefore string `json:"load_before,omitempty"`
	LoadAfter  string `json:"load_after,omitempty"`
}

// opResult is the runs of one measured command and their summary.
type opResult struct {
	Runs []runResult `json:"runs"`
	// Seconds, CPUSeconds and SyncSeconds are the medians of the runs'.
	Seconds     float64 `json:"median_seconds"`
	CPUSeconds  float64 `json:"median_cpu_seconds"`
	SyncSeconds float64 `json:"median_sync_after_seconds"`
	// UserSeconds and SysSeconds are the medians of the runs' user and
	// system (kernel) CPU time.
	UserSeconds float64 `json:"median_user_seconds"`
	SysSeconds  float64 `json:"median_sys_seconds"`
	// PeakRSSKiB and MaxRSSKiB are the largest over the runs.
	PeakRSSKiB int64 `json:"peak_rss_kib"`
	MaxRSSKiB  int64 `json:"ru_maxrss_kib"`
}

// runResult is one run of a measured command.
type runResult struct {
	Command []string `json:"command"`
	// Seconds is the time reported: for winlayer the library call as
	// the child timed it, for GNU tar the process's wall time.
	Seconds     float64 `json:"seconds"`
	WallSeconds float64 `json:"wall_seconds"`
	UserSeconds float64 `json:"user_seconds"`
	SysSeconds  float64 `json:"sys_seconds"`
	// SyncAfterSeconds is how long the sync(2) right after the run took:
	// the cost of making what the run wrote durable.
	SyncAfterSeconds float64 `json:"sync_after_seconds"`
	// PeakRSSKiB is the process's own peak RSS (VmHWM: reported by a
	// winbench child at its end, polled for GNU tar); MaxRSSKiB its
	// ru_maxrss.
	PeakRSSKiB int64 `json:"peak_rss_kib"`
	MaxRSSKiB  int64 `json:"ru_maxrss_kib"`
	Bytes      int64 `json:"bytes,omitempty"`
	// First says the run went first of its winlayer/GNU tar pair.
	First bool `json:"first"`
	// Layers are the layer times of a pull.
	Layers []layerTime `json:"layers,omitempty"`
}

// run runs the benchmark of cfg and prints its tables. The work
// directory is cleaned up unless cfg.keep or the benchmark failed.
func run(ctx context.Context, cfg config) (err error) {
	if err := checkConfig(&cfg); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir, cleanup, err := workDir(cfg.dir)
	if err != nil {
		return err
	}
	b := &bench{cfg: cfg, self: self, dir: dir, store: filepath.Join(dir, "store"), started: time.Now()}
	defer func() {
		switch {
		case cfg.keep:
		case err != nil:
			b.logf("keeping %s for inspection", dir)
		default:
			b.cleanup()
			cleanup()
		}
	}()
	b.rep = report{Machine: machineFacts(cfg.tar, dir), Scale: cfg.scale, Runs: cfg.runs, Warmup: cfg.warmup, Dir: dir}
	b.logf("%s", b.rep.Machine)
	b.logf("work dir %s", dir)
	if b.st, err = layer.Open(b.store); err != nil {
		return err
	}
	for _, kind := range cfg.only {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := b.layer(kind)
		if err != nil {
			return fmt.Errorf("%s: %w", kind, err)
		}
		b.rep.Layers = append(b.rep.Layers, res)
	}
	b.rep.ParentPeakRSSKiB = selfPeakRSSKiB()
	printReport(cfg.stdout, &b.rep)
	if cfg.jsonPath != "" {
		j, err := json.MarshalIndent(&b.rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(cfg.jsonPath, append(j, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func checkConfig(cfg *config) error {
	if !(cfg.scale > 0) {
		return fmt.Errorf("--scale %v: must be positive", cfg.scale)
	}
	if cfg.runs < 1 {
		return fmt.Errorf("--runs %d: must be at least 1", cfg.runs)
	}
	if cfg.warmup < 0 {
		return fmt.Errorf("--warmup %d: must be 0 or more", cfg.warmup)
	}
	var kinds []string
	for _, k := range cfg.only {
		k = strings.TrimSpace(k)
		if !slices.Contains(Kinds, k) {
			return fmt.Errorf("--only: unknown kind %q (want some of %s)", k, strings.Join(Kinds, ","))
		}
		if !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	cfg.only = kinds
	if _, err := exec.LookPath(cfg.tar); err != nil {
		return fmt.Errorf("GNU tar: %w", err)
	}
	if cfg.cpuprofile != "" {
		abs, err := filepath.Abs(cfg.cpuprofile)
		if err != nil {
			return err
		}
		cfg.cpuprofile = abs
		return os.MkdirAll(abs, 0o755)
	}
	return nil
}

// workDir returns the work directory (made if new) and the function that
// removes it if winbench made it, else what winbench made in it.
func workDir(dir string) (string, func(), error) {
	made := dir == ""
	if made {
		tmp := "/var/tmp"
		if runtime.GOOS == "windows" {
			tmp = os.TempDir()
		}
		d, err := os.MkdirTemp(tmp, "winbench-")
		if err != nil {
			return "", nil, err
		}
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", nil, err
	}
	return abs, func() {
		if made {
			os.RemoveAll(abs)
		} else {
			os.RemoveAll(filepath.Join(abs, "store"))
		}
	}, nil
}

// bench holds the state of a benchmark run.
//
// Nothing is deleted until every run is done: each run imports a layer
// id of its own and extracts into a directory of its own. On ext4
// without a journal (this benchmark's first machine) an inode is not
// reused within 60 s of its deletion, 360 s while its inode table block
// is dirty — which a new inode in the same block makes it — and every
// allocation scans past all such inodes: after a tree of 10,000 files
// was deleted, extracting the same tree took 10-40× longer (perf:
// recently_deleted in find_inode_bit), whichever tool ran next.
type bench struct {
	cfg   config
	self  string // the winbench executable, re-executed for children
	dir   string
	store string
	st    *layer.Store
	rep   report
	// ids and paths are what to remove at the end.
	ids   []string
	paths []string
	// started is when the benchmark began; settled is set once the
	// settle time has passed.
	started time.Time
	settled bool
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.cfg.stderr, "winbench: "+format+"\n", args...)
}

// cleanup removes the layers (with Store.Remove) and files of every run.
func (b *bench) cleanup() {
	if b.st == nil {
		return
	}
	for _, id := range b.ids {
		if err := b.st.Remove(context.Background(), id); err != nil {
			b.logf("%v", err)
		}
	}
	for _, p := range b.paths {
		os.RemoveAll(p)
	}
}

// step is one side of a measured pair: run i of it is argv(i), a child
// winbench process or not.
type step struct {
	name  string
	op    *opResult
	argv  func(i int) ([]string, error)
	child bool
}

// run runs run i of s and measures it.
func (s step) run(i int) (runResult, error) {
	argv, err := s.argv(i)
	if err != nil {
		return runResult{}, err
	}
	r, err := measure(argv, s.child)
	if err != nil {
		return r, fmt.Errorf("%s: %w", s.name, err)
	}
	return r, nil
}

// layer generates the tar of kind and measures it.
func (b *bench) layer(kind string) (layerResult, error) {
	var res layerResult
	kdir := filepath.Join(b.dir, kind)
	b.paths = append(b.paths, kdir)
	if err := os.Mkdir(kdir, 0o755); err != nil {
		return res, err
	}
	var (
		tarPath = filepath.Join(kdir, "input.tar")
		id      = func(i int) string { return fmt.Sprintf("%s-%d", kind, i+1) }
		tree    = func(i int) string { return filepath.Join(kdir, fmt.Sprintf("gnutar-tree-%d", i+1)) }
		export  = func(i int) string { return filepath.Join(kdir, fmt.Sprintf("winlayer-export-%d.tar", i+1)) }
		create  = func(i int) string { return filepath.Join(kdir, fmt.Sprintf("gnutar-create-%d.tar", i+1)) }
	)

	b.logf("%s: generating %s", kind, tarPath)
	start := time.Now()
	gen, err := GenerateFile(tarPath, kind, b.cfg.scale)
	if err != nil {
		return res, err
	}
	res.Gen, res.GenSeconds = gen, time.Since(start).Seconds()
	b.logf("%s: %d files, %d dirs, %s payload, %s tar in %.1f s", kind, gen.Files, gen.Dirs,
		units.BytesSize(float64(gen.Payload)), units.BytesSize(float64(gen.TarBytes)), res.GenSeconds)
	if !b.settled {
		b.settled = true
		if wait := b.cfg.settle - time.Since(b.started); wait > 0 {
			b.logf("waiting %.0f s before the first timed run (--settle)", wait.Seconds())
			time.Sleep(wait)
		}
	}
	res.LoadBefore = loadAvg()

	winImport := func(i int) ([]string, error) {
		b.ids = append(b.ids, id(i))
		return []string{b.self, "child", "import", b.store, id(i), tarPath}, nil
	}
	tarExtract := func(i int) ([]string, error) {
		return []string{b.cfg.tar, "--warning=no-unknown-keyword", "-xf", tarPath, "-C", tree(i)}, os.Mkdir(tree(i), 0o755)
	}
	winExport := func(i int) ([]string, error) {
		return []string{b.self, "child", "export", b.store, id(i), export(i)}, nil
	}
	tarCreate := func(i int) ([]string, error) {
		return []string{b.cfg.tar, "-cf", create(i), "-C", tree(i), "."}, nil
	}

	err = b.pairs(kind, step{"winlayer import", &res.Import, winImport, true}, step{"GNU tar extract", &res.Extract, tarExtract, false})
	if err != nil {
		return res, err
	}
	if err := checkTree(tree(0), gen); err != nil {
		return res, err
	}
	err = b.pairs(kind, step{"winlayer export", &res.Export, winExport, true}, step{"GNU tar create", &res.Create, tarCreate, false})
	if err != nil {
		return res, err
	}
	res.LoadAfter = loadAvg()
	for i := range b.cfg.runs {
		sum, err := fileSHA256(export(i))
		if err != nil {
			return res, err
		}
		if sum != gen.SHA256 {
			return res, fmt.Errorf("EXPORT DIFFERS FROM INPUT: sha256 %s of %s, want %s (the input %s)",
				sum, export(i), gen.SHA256, tarPath)
		}
		res.ExportSHA256 = sum
	}
	b.logf("%s: every export is the input byte for byte: sha256 %s", kind, res.ExportSHA256)
	if fi, err := os.Stat(create(0)); err == nil {
		res.CreateTarBytes = fi.Size()
	}

	if b.cfg.cpuprofile != "" {
		i := b.cfg.runs + b.cfg.warmup // one more run
		if err := b.profile(kind, winImport, winExport, i, &res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// pairs runs wl and gt cfg.runs times each, alternating which goes first,
// after cfg.warmup untimed pairs (their results are logged, not kept).
//
// The warm-up is there for this reason: after a quiet spell (--settle), a
// virtual machine whose balloon reports free memory to the host gets the
// memory back only as it is touched, a hypervisor fault per page, which
// costs whichever program fills the page cache first several seconds per
// GiB, and those after it far less; without a warm-up that cost lands on
// the first timed run, that is on winlayer.
func (b *bench) pairs(kind string, wl, gt step) error {
	// Pair n runs a before c when n is even; the warm-up pairs start with
	// GNU tar, the timed ones with winlayer.
	order := func(n int, a, c step) []step {
		if n%2 == 1 {
			return []step{c, a}
		}
		return []step{a, c}
	}
	for w := range b.cfg.warmup {
		for _, s := range order(w, gt, wl) {
			r, err := s.run(b.cfg.runs + w)
			if err != nil {
				return fmt.Errorf("warm-up: %w", err)
			}
			b.logf("%s: warm-up %d/%d: %-16s %7.3f s (cpu %.3f s, not counted)", kind, w+1, b.cfg.warmup,
				s.name, r.Seconds, r.UserSeconds+r.SysSeconds)
		}
	}
	for i := range b.cfg.runs {
		for j, s := range order(i, wl, gt) {
			r, err := s.run(i)
			if err != nil {
				return err
			}
			r.First = j == 0
			s.op.Runs = append(s.op.Runs, r)
			b.logf("%s: run %d/%d: %-16s %7.3f s (cpu %.3f s, sync after %.3f s, peak RSS %.1f MiB)", kind, i+1, b.cfg.runs,
				s.name, r.Seconds, r.UserSeconds+r.SysSeconds, r.SyncAfterSeconds, mib(r.PeakRSSKiB))
		}
	}
	wl.op.summarize()
	gt.op.summarize()
	return nil
}

// profile runs import and export once more, with a CPU profile each.
func (b *bench) profile(kind string, winImport, winExport func(int) ([]string, error), i int, res *layerResult) error {
	for _, p := range []struct {
		name string
		argv func(int) ([]string, error)
	}{{"import", winImport}, {"export", winExport}} {
		argv, err := p.argv(i)
		if err != nil {
			return err
		}
		out := filepath.Join(b.cfg.cpuprofile, kind+"-"+p.name+".pprof")
		argv = slices.Concat(argv[:3], []string{"--cpuprofile", out}, argv[3:])
		r, err := measure(argv, true)
		if err != nil {
			return fmt.Errorf("profiled %s: %w", p.name, err)
		}
		b.logf("%s: profiled %s: %.3f s (cpu %.3f s) → %s", kind, p.name, r.Seconds, r.UserSeconds+r.SysSeconds, out)
		res.Profiles = append(res.Profiles, out)
	}
	return nil
}
