package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	units "github.com/docker/go-units"
)

// config is the command line of a benchmark run.

// measure runs argv after sync(2) and syncs after it, timing the sync.
// A winbench child's result (child) replaces the wall time with its
// library call's and adds its own peak RSS.
func measure(argv []string, child bool) (runResult, error) {
	r := runResult{Command: argv}
	syncAll()
	cmd := exec.Command(argv[0], argv[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return r, err
	}
	stop := watchPeakRSS(cmd.Process.Pid)
	err := cmd.Wait()
	wall := time.Since(start)
	peak := stop()
	t := time.Now()
	syncAll()
	r.SyncAfterSeconds = time.Since(t).Seconds()
	if err != nil {
		return r, fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, strings.TrimSpace(stderr.String()))
	}
	ps := cmd.ProcessState
	r.WallSeconds, r.Seconds = wall.Seconds(), wall.Seconds()
	r.UserSeconds, r.SysSeconds = ps.UserTime().Seconds(), ps.SystemTime().Seconds()
	r.MaxRSSKiB, r.PeakRSSKiB = maxRSSKiB(ps), peak
	if child {
		var cr childResult
		if err := json.Unmarshal(stdout.Bytes(), &cr); err != nil {
			return r, fmt.Errorf("%s: result %q: %w", strings.Join(argv, " "), stdout.String(), err)
		}
		r.Seconds, r.Bytes, r.Layers = cr.Seconds, cr.Bytes, cr.Layers
		r.PeakRSSKiB = max(r.PeakRSSKiB, cr.PeakRSSKiB)
	}
	return r, nil
}

func (o *opResult) summarize() {
	var secs, cpu, syncs, user, sys []float64
	for _, r := range o.Runs {
		secs = append(secs, r.Seconds)
		cpu = append(cpu, r.UserSeconds+r.SysSeconds)
		user = append(user, r.UserSeconds)
		sys = append(sys, r.SysSeconds)
		syncs = append(syncs, r.SyncAfterSeconds)
		o.PeakRSSKiB = max(o.PeakRSSKiB, r.PeakRSSKiB)
		o.MaxRSSKiB = max(o.MaxRSSKiB, r.MaxRSSKiB)
	}
	o.Seconds, o.CPUSeconds, o.SyncSeconds = median(secs), median(cpu), median(syncs)
	o.UserSeconds, o.SysSeconds = median(user), median(sys)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// checkTree checks that GNU tar extracted every file and byte of the
// input (so that tar -c archives what winlayer exports).
func checkTree(dir string, gen GenStats) error {
	var files, dirs int
	var size int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case p == dir:
		case d.IsDir():
			dirs++
		case d.Type().IsRegular():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			files++
			size += fi.Size()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if files != gen.Files || dirs != gen.Dirs || size != gen.Payload {
		return fmt.Errorf("GNU tar extracted %d files, %d dirs, %d bytes; the tar has %d, %d, %d",
			files, dirs, size, gen.Files, gen.Dirs, gen.Payload)
	}
	return nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, bufio.NewReaderSize(f, 256<<10)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func machineFacts(tar, dir string) machine {
	first := func(name string, args ...string) string {
		out, err := exec.Command(name, args...).Output()
		if err != nil {
			return "unknown"
		}
		line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		return line
	}
	return machine{
		NumCPU:    runtime.NumCPU(),
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
		Tar:       first(tar, "--version"),
		FSType:    first("stat", "-f", "-c", "%T", dir),
		OS:        osFacts(),
		Revision:  revision(),
	}
}

// revision returns the VCS revision of the build as recorded in it or
// else as git reports it for the current directory ("" if neither knows).
func revision() string {
	var rev, dirty string
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && len(s.Value) >= 12:
				rev = s.Value[:12]
			case s.Key == "vcs.modified" && s.Value == "true":
				dirty = "+dirty"
			}
		}
	}
	if rev == "" {
		out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
		if err != nil {
			return ""
		}
		rev = strings.TrimSpace(string(out))
		if out, err := exec.Command("git", "status", "--porcelain").Output(); err == nil && len(out) > 0 {
			dirty = "+dirty"
		}
	}
	return rev + dirty
}

func mib(kib int64) float64 {
	if kib < 0 {
		return -1
	}
	return float64(kib) / 1024
}

// printReport prints the Markdown tables of rep.
func printReport(w io.Writer, rep *report) {
	rss := func(kib int64) string {
		if kib < 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.1f", mib(kib))
	}
	ratio := func(a, b float64) string {
		if b == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.2f×", a/b)
	}
	fmt.Fprintln(w, rep.Machine)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| layer | input size | files | winlayer import s | GNU tar -x s | ratio | winlayer export s | GNU tar -c s | ratio | winlayer import peak RSS MiB | winlayer export peak RSS MiB | GNU tar -x / -c peak RSS MiB |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, l := range rep.Layers {
		fmt.Fprintf(w, "| %s | %s | %d | %.3f | %.3f | %s | %.3f | %.3f | %s | %s | %s | %s / %s |\n",
			l.Gen.Kind, units.BytesSize(float64(l.Gen.TarBytes)), l.Gen.Files,
			l.Import.Seconds, l.Extract.Seconds, ratio(l.Import.Seconds, l.Extract.Seconds),
			l.Export.Seconds, l.Create.Seconds, ratio(l.Export.Seconds, l.Create.Seconds),
			rss(l.Import.PeakRSSKiB), rss(l.Export.PeakRSSKiB), rss(l.Extract.PeakRSSKiB), rss(l.Create.PeakRSSKiB))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| layer | dirs | import CPU s | tar -x CPU s | import + sync s | tar -x + sync s | ratio | export CPU s | tar -c CPU s |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, l := range rep.Layers {
		imp, ext := l.Import.Seconds+l.Import.SyncSeconds, l.Extract.Seconds+l.Extract.SyncSeconds
		fmt.Fprintf(w, "| %s | %d | %.3f | %.3f | %.3f | %.3f | %s | %.3f | %.3f |\n",
			l.Gen.Kind, l.Gen.Dirs, l.Import.CPUSeconds, l.Extract.CPUSeconds, imp, ext, ratio(imp, ext),
			l.Export.CPUSeconds, l.Create.CPUSeconds)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Median of %d runs each, after %d untimed pair(s), winlayer and GNU tar alternating which goes first; sync(2) before every run, page cache not dropped. "+
		"winlayer s: the library call (layer.Open + Import, or Export copied to a file) in a child process; GNU tar s: the tar process's wall time "+
		"(tar --warning=no-unknown-keyword -xf, tar -cf). Files: regular files, Hives/System_Delta included. Ratio: winlayer / GNU tar. \"+ sync\": plus the sync(2) right after the run "+
		"(winlayer's import is durable when it returns, tar's is not). Every run writes a layer or tree of its own; nothing is "+
		"deleted before the end (on ext4 without a journal, creating files right after a big deletion is many times slower). Peak RSS: the process's own VmHWM; ru_maxrss also counts winbench's "+
		"own peak (%s MiB) inherited through vfork. Exports were checked equal (sha256) to their input.\n", rep.Runs, rep.Warmup, rss(rep.ParentPeakRSSKiB))
	var loads []string
	for _, l := range rep.Layers {
		if l.LoadBefore != "" {
			loads = append(loads, fmt.Sprintf("%s %s → %s", l.Gen.Kind, l.LoadBefore, l.LoadAfter))
		}
	}
	if len(loads) > 0 {
		fmt.Fprintf(w, "\nLoad average (1 min) before → after the timed runs: %s (nproc %d).\n", strings.Join(loads, ", "), rep.Machine.NumCPU)
	}
}
