package main

import (
	"fmt"
	"io"

	units "github.com/docker/go-units"
)

// cpuBudget is what a speed target leaves, in CPU seconds, for the part
// of a pull that is neither decompressing nor hashing: creating and
// writing the files (kernel time), parsing the tar and recording it (user
// time). Both pulls are CPU-bound on a small machine, so a pull that is
// to take at most Wall seconds can use at most nproc × Wall CPU seconds;
// the floor + digests step measures what decompressing and checking the
// two digests take of those.
type cpuBudget struct {
	// Target names the target, Wall is the pull time it allows.
	Target string
	Wall   float64
	// Budget is nproc × Wall minus the CPU time of floor + digests: what
	// is left for writing the files and everything else.
	Budget float64
	// Sys and User are what the pull spent beyond the floor + digests:
	// its system time (the kernel creating and writing the files) and its
	// user time less the floor + digests' CPU time.
	Sys, User float64
}

// Verdict says whether the target is within reach here: "no" when the
// pull's kernel time alone is more than the budget (no change to
// winlayer's own code reaches the target on this machine while the pull
// checks both digests and writes the files through the kernel), "not as
// the pull works now" when its kernel and other user time together are,
// else "yes".
func (b cpuBudget) Verdict() string {
	switch {
	case b.Sys > b.Budget:
		return "**no**: the kernel time alone is more than is left"
	case b.Sys+b.User > b.Budget:
		return "not as the pull works now: its kernel and other user time together are more than is left"
	}
	return "yes"
}

// pullBudgets returns the CPU budgets of the two speed targets that the
// floor steps bound: pull ≤ 1.5× the floor (gzip) and zstd ≥ 2× faster.
func pullBudgets(rep *pullReport) []cpuBudget {
	n := float64(max(1, rep.Machine.NumCPU))
	mk := func(target string, wall float64, pull, digests opResult) cpuBudget {
		return cpuBudget{Target: target, Wall: wall, Budget: n*wall - digests.CPUSeconds,
			Sys: pull.SysSeconds, User: max(0, pull.UserSeconds-digests.CPUSeconds)}
	}
	return []cpuBudget{
		mk(fmt.Sprintf("pull ≤ %.1f× floor (gzip)", targetVsFloor), targetVsFloor*rep.FloorGzip.Seconds, rep.PullGzip, rep.DigestsGzip),
		mk(fmt.Sprintf("zstd pull ≤ gzip pull / %.0f", targetZstd), rep.PullGzip.Seconds/targetZstd, rep.PullZstd, rep.DigestsZstd),
	}
}

// zstdBound is the zstd speed-up a pull could reach if both pulls kept
// the CPUs equally busy and did nothing in user space beyond decompressing
// and hashing: the ratio of the CPU time that cannot be skipped, the
// floor + digests step's plus the pull's own kernel time. Improving
// winlayer's own code lowers both pulls' times alike and does not move
// this bound; only a gzip pull that left CPUs idle would beat it. 0 when
// a figure is missing.
func zstdBound(rep *pullReport) float64 {
	z := rep.DigestsZstd.CPUSeconds + rep.PullZstd.SysSeconds
	if z <= 0 || rep.DigestsGzip.CPUSeconds <= 0 {
		return 0
	}
	return (rep.DigestsGzip.CPUSeconds + rep.PullGzip.SysSeconds) / z
}

// printBudgets prints the budget table: for each target, the CPU time it
// leaves beyond decompressing and hashing against what the pull spent
// there, and what GNU tar's kernel time was for the same files.
func printBudgets(w io.Writer, rep *pullReport) {
	if rep.FloorGzip.Seconds == 0 || rep.DigestsGzip.CPUSeconds == 0 {
		return
	}
	fmt.Fprintf(w, "What each speed target leaves, on %d CPUs, for writing the files (CPU s beyond the floor + digests step's):\n\n", max(1, rep.Machine.NumCPU))
	fmt.Fprintln(w, "| target | pull may take s | CPU s it allows | of which decompressing and hashing | left for writing | the pull's kernel time | the pull's other user time | reachable here |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|---|")
	n := float64(max(1, rep.Machine.NumCPU))
	for i, b := range pullBudgets(rep) {
		digests := rep.DigestsGzip.CPUSeconds
		if i == 1 {
			digests = rep.DigestsZstd.CPUSeconds
		}
		fmt.Fprintf(w, "| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %s |\n", b.Target, b.Wall, n*b.Wall, digests, b.Budget, b.Sys, b.User, b.Verdict())
	}
	if b := zstdBound(rep); b > 0 {
		fmt.Fprintf(w, "\nThe most zstd can gain while both pulls keep the CPUs equally busy, even if nothing but decompressing, hashing and the kernel's writing cost CPU time: "+
			"(%.3f + %.3f) / (%.3f + %.3f) CPU s = %.2f× (target ≥ %.0f×).\n", rep.DigestsGzip.CPUSeconds, rep.PullGzip.SysSeconds,
			rep.DigestsZstd.CPUSeconds, rep.PullZstd.SysSeconds, b, targetZstd)
	}
	fmt.Fprintf(w, "\nFor comparison, GNU tar's kernel time for the same files (tar -xzf, buffered writes): %.3f s. "+
		"The kernel time is what creating the %d files of a %s tar and writing them costs; a pull that checks both digests and stores the files cannot skip it.\n\n",
		rep.TarExtract.SysSeconds, totalFiles(rep.Layers), units.BytesSize(float64(rep.TarBytes)))
}
