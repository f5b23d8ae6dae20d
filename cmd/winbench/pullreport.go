package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path/filepath"

	units "github.com/docker/go-units"

	"github.com/winlayer/winlayer/layer"
)

// chainIDs returns the ChainIDs (hex) of the image's layers, base first:
// the store ids winlayer's pull gives them.
func chainIDs(layers []pullLayer) []string {
	var ids []string
	for i, l := range layers {
		if i == 0 {
			ids = append(ids, l.Gen.SHA256)
			continue
		}
		sum := sha256.Sum256([]byte("sha256:" + ids[i-1] + " " + l.DiffID().String()))
		ids = append(ids, hex.EncodeToString(sum[:]))
	}
	return ids
}

// check verifies the first timed run's results: every layer of both
// pulled stores exports to its DiffID, and tar extracted every file and
// byte of every layer.
func (b *pullBench) check(ctx context.Context) error {
	i := b.cfg.warmup
	for _, what := range []string{"store-gzip", "store-zstd"} {
		if err := checkPulledStore(ctx, b.runDir(i, what), b.layers); err != nil {
			return fmt.Errorf("check %s: %w", what, err)
		}
	}
	b.logf("every layer of both pulls exports to its DiffID")
	for n, l := range b.layers {
		tree := filepath.Join(b.runDir(i, "tar-trees"), fmt.Sprintf("layer-%d", n+1))
		if err := checkTree(tree, l.Gen); err != nil {
			return fmt.Errorf("check tar -xzf of layer %d: %w", n+1, err)
		}
	}
	b.logf("tar -xzf extracted every file of every layer")
	return nil
}

// checkPulledStore checks that every layer of the image is in the store
// in dir under its ChainID and exports to its DiffID.
func checkPulledStore(ctx context.Context, dir string, layers []pullLayer) error {
	st, err := layer.Open(dir)
	if err != nil {
		return err
	}
	for n, id := range chainIDs(layers) {
		rc, err := st.Export(ctx, id)
		if err != nil {
			return fmt.Errorf("layer %d: %w", n+1, err)
		}
		h := sha256.New()
		_, err = io.Copy(h, rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("layer %d: %w", n+1, err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != layers[n].Gen.SHA256 {
			return fmt.Errorf("layer %d (%s): export sha256 %s, want the DiffID %s", n+1, id, got, layers[n].Gen.SHA256)
		}
	}
	return nil
}

// pullTargets are the targets of issue 11 item 10.
const (
	targetVsSkopeo = 0.6
	targetVsFloor  = 1.5
	targetRSSMiB   = 150
	targetZstd     = 2.0
)

// printPullReport prints the Markdown tables of rep.
func printPullReport(w io.Writer, rep *pullReport) {
	rss := func(kib int64) string {
		if kib < 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.1f", mib(kib))
	}
	size := func(n int64) string { return units.BytesSize(float64(n)) }
	fmt.Fprintln(w, rep.Machine)
	fmt.Fprintf(w, "Registry: %s · %s\n", rep.Registry, rep.Skopeo)
	fmt.Fprintf(w, "Image: %d layers, %s of tar (%s gzip, %s zstd); %d files\n\n", len(rep.Layers),
		size(rep.TarBytes), size(rep.GzipBytes), size(rep.ZstdBytes), totalFiles(rep.Layers))
	fmt.Fprintln(w, "| step | median s | CPU s | sync after s | peak RSS MiB |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|")
	for _, s := range []struct {
		name string
		op   *opResult
	}{
		{fmt.Sprintf("winlayer pull, gzip (--jobs %d)", rep.Jobs), &rep.PullGzip},
		{"skopeo copy docker://… oci:DIR", &rep.SkopeoCopy},
		{fmt.Sprintf("tar -xzf of each layer (%d, one after the other)", len(rep.Layers)), &rep.TarExtract},
		{"skopeo copy + tar -xzf", &rep.SkopeoTar},
		{"floor: gzip layers decompressed to nothing, in parallel", &rep.FloorGzip},
		{"floor + digests: the same, each blob and its tar also hashed (sha256)", &rep.DigestsGzip},
		{fmt.Sprintf("winlayer pull, zstd (--jobs %d)", rep.Jobs), &rep.PullZstd},
		{"floor: zstd layers decompressed to nothing, in parallel", &rep.FloorZstd},
		{"floor + digests, zstd", &rep.DigestsZstd},
	} {
		fmt.Fprintf(w, "| %s | %.3f | %.3f | %.3f | %s |\n", s.name, s.op.Seconds, s.op.CPUSeconds, s.op.SyncSeconds, rss(s.op.PeakRSSKiB))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| measure | value | target | met |")
	fmt.Fprintln(w, "|---|--:|--:|---|")
	row := func(what string, v float64, unit, target string, met bool) {
		m := "yes"
		switch {
		case target == "":
			m = "" // a figure, not a target
		case !met:
			m = "**no**"
		}
		fmt.Fprintf(w, "| %s | %.2f%s | %s | %s |\n", what, v, unit, target, m)
	}
	ratio := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return a / b
	}
	vsSkopeo := ratio(rep.PullGzip.Seconds, rep.SkopeoTar.Seconds)
	vsFloor := ratio(rep.PullGzip.Seconds, rep.FloorGzip.Seconds)
	zstdUp := ratio(rep.PullGzip.Seconds, rep.PullZstd.Seconds)
	pullRSS := mib(max(rep.PullGzip.PeakRSSKiB, rep.PullZstd.PeakRSSKiB))
	row("pull / (skopeo copy + tar -xzf)", vsSkopeo, "×", fmt.Sprintf("≤ %.1f×", targetVsSkopeo), vsSkopeo <= targetVsSkopeo)
	row("pull + its sync / (skopeo + tar + their syncs)", ratio(rep.PullGzip.Seconds+rep.PullGzip.SyncSeconds, rep.SkopeoTar.Seconds+rep.SkopeoTar.SyncSeconds), "×", "", true)
	row("pull / floor", vsFloor, "×", fmt.Sprintf("≤ %.1f×", targetVsFloor), vsFloor <= targetVsFloor)
	row("(floor + digests) / floor: what checking the two digests costs", ratio(rep.DigestsGzip.Seconds, rep.FloorGzip.Seconds), "×", "", true)
	row("pull / (floor + digests), zstd", ratio(rep.PullZstd.Seconds, rep.DigestsZstd.Seconds), "×", "", true)
	row("peak RSS of the pull (gzip, zstd)", pullRSS, " MiB", fmt.Sprintf("≤ %d MiB", targetRSSMiB), pullRSS <= targetRSSMiB)
	row("peak RSS of skopeo copy", mib(rep.SkopeoCopy.PeakRSSKiB), " MiB", "", true)
	row("zstd speed-up: gzip pull / zstd pull", zstdUp, "×", fmt.Sprintf("≥ %.0f×", targetZstd), zstdUp >= targetZstd)
	fmt.Fprintln(w)
	printBudgets(w, rep)
	fmt.Fprintf(w, "Median of %d run(s) each after %d untimed round(s), the order of the steps rotating from round to round; every step a process "+
		"of its own, after sync(2), page cache not dropped; each run pulls into an empty store and extracts into new directories, nothing is deleted "+
		"before the end. winlayer s: the library call in a child process (image pull into a new store; the floor's decompression); skopeo and tar: "+
		"the processes' wall time. The pull is durable when it returns (syncfs); skopeo and tar are not: \"sync after\" is the sync(2) right after. "+
		"Peak RSS: the process's own VmHWM. Load average (1 min) before → after: %s → %s (nproc %d). Checked: every pulled layer exports to its "+
		"DiffID; tar extracted every file. Command: `%s`.\n", rep.Runs, rep.Warmup, rep.LoadBefore, rep.LoadAfter, rep.Machine.NumCPU, rep.Command)
}

func totalFiles(ls []pullLayer) int {
	n := 0
	for _, l := range ls {
		n += l.Gen.Files
	}
	return n
}
