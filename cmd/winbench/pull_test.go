package main

import (
	"bytes"
	"context"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

func TestGenerateWithOptions(t *testing.T) {
	gen := func(opts GenOptions) (GenStats, []byte) {
		var buf bytes.Buffer
		st, err := GenerateWith(&buf, KindMix, 0.005, opts)
		if err != nil {
			t.Fatal(err)
		}
		return st, buf.Bytes()
	}
	plain, _ := gen(GenOptions{})
	if old, err := Generate(io.Discard, KindMix, 0.005); err != nil || old.SHA256 != plain.SHA256 {
		t.Fatalf("GenerateWith without options differs from Generate: %s, %s (%v)", plain.SHA256, old.SHA256, err)
	}
	a, tarA := gen(GenOptions{Compressible: true})
	again, _ := gen(GenOptions{Compressible: true})
	salted, _ := gen(GenOptions{Compressible: true, Salt: "-2"})
	if a.SHA256 != again.SHA256 {
		t.Errorf("compressible content is not deterministic: %s, then %s", a.SHA256, again.SHA256)
	}
	if a.SHA256 == plain.SHA256 || salted.SHA256 == a.SHA256 {
		t.Errorf("options change nothing: plain %s, compressible %s, salted %s", plain.SHA256, a.SHA256, salted.SHA256)
	}
	if a.Kind != KindMix || salted.Kind != KindMix {
		t.Errorf("kinds %q %q, want %q", a.Kind, salted.Kind, KindMix)
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(tarA)
	zw.Close()
	if r := float64(len(tarA)) / float64(z.Len()); r < 2 || r > 5 {
		t.Errorf("gzip compresses the compressible content %.2f×, want 2×–5× (as Windows layers)", r)
	}
}

// TestChildFloor decompresses gzip and zstd blobs and counts their bytes,
// and fails on a damaged blob.
func TestChildFloor(t *testing.T) {
	dir := t.TempDir()
	data := bytes.Repeat([]byte("floor data "), 100000)
	var gz, zs bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write(data)
	gw.Close()
	zw, _ := zstd.NewWriter(&zs)
	zw.Write(data)
	zw.Close()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	g, z := write("a.gz", gz.Bytes()), write("b.zst", zs.Bytes())
	badGz := write("bad.gz", gz.Bytes()[:gz.Len()-12])
	badZs := write("bad.zst", zs.Bytes()[:zs.Len()/2])
	for _, digests := range []bool{false, true} {
		n, err := childFloor(context.Background(), []string{g, z, g}, 2, digests)
		if err != nil || n != 3*int64(len(data)) {
			t.Fatalf("childFloor(digests %v) = %d, %v; want %d", digests, n, err, 3*len(data))
		}
		for _, bad := range []string{badGz, badZs} {
			if _, err := childFloor(context.Background(), []string{bad}, 1, digests); err == nil || !strings.Contains(err.Error(), bad) {
				t.Fatalf("digests %v: a truncated blob: %v, want an error naming %s", digests, err, bad)
			}
		}
	}
}

// TestPushPullBenchImages makes a tiny image, pushes both compressions to
// the benchmark's registry, reads them back, and pulls each with the
// measured pull into a new store whose layers must export to the DiffIDs.
func TestPushPullBenchImages(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	layers, err := makePullLayers(ctx, dir, 0.001)
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != len(pullLayers) {
		t.Fatalf("%d layers, want %d", len(layers), len(pullLayers))
	}
	reg, err := startRegistry(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	t.Logf("registry: %s", reg.Kind)
	gzRef, zsRef, err := pushBenchImages(ctx, reg.Host, layers)
	if err != nil {
		t.Fatal(err)
	}
	ids := chainIDs(layers)
	for _, c := range []struct {
		ref string
		mt  types.MediaType
	}{{gzRef, types.OCILayer}, {zsRef, types.OCILayerZStd}} {
		ref, err := name.ParseReference(c.ref)
		if err != nil {
			t.Fatal(err)
		}
		img, err := remote.Image(ref, remote.WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.OS != "windows" || cf.OSVersion != pullOSVersion || len(cf.RootFS.DiffIDs) != len(layers) {
			t.Fatalf("%s: config %s %s with %d diff_ids", c.ref, cf.OS, cf.OSVersion, len(cf.RootFS.DiffIDs))
		}
		ls, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range ls {
			mt, _ := l.MediaType()
			d, _ := l.DiffID()
			if mt != c.mt || d != layers[i].DiffID() {
				t.Errorf("%s layer %d: %s %s, want %s %s", c.ref, i, mt, d, c.mt, layers[i].DiffID())
			}
			rc, err := l.Uncompressed()
			if err != nil {
				t.Fatal(err)
			}
			n, err := io.Copy(io.Discard, rc)
			rc.Close()
			if err != nil || n != layers[i].Gen.TarBytes {
				t.Errorf("%s layer %d: %d bytes uncompressed (%v), want %d", c.ref, i, n, err, layers[i].Gen.TarBytes)
			}
		}
	}
	for _, ref := range []string{gzRef, zsRef} {
		store := filepath.Join(dir, "store-"+ref[strings.LastIndex(ref, ":")+1:])
		var times []layerTime
		n, err := childPull(ctx, store, ref, 2, &times)
		if err != nil {
			t.Fatalf("childPull %s: %v", ref, err)
		}
		if len(times) != len(layers) {
			t.Errorf("childPull %s: %d layer times, want %d", ref, len(times), len(layers))
		}
		for i, lt := range times {
			if lt.Layer != i+1 || lt.start.IsZero() || lt.done.Before(lt.start) {
				t.Errorf("childPull %s: layer %d: %+v", ref, i+1, lt)
			}
		}
		if n <= 0 {
			t.Errorf("childPull %s: %d bytes read", ref, n)
		}
		if err := checkPulledStore(ctx, store, layers); err != nil {
			t.Errorf("%s: %v", ref, err)
		}
	}
	if err := checkPulledStore(ctx, filepath.Join(dir, "empty"), layers); err == nil {
		t.Errorf("checkPulledStore of an empty store: no error")
	}
	if len(ids) != len(layers) || ids[0] != layers[0].Gen.SHA256 || ids[1] == layers[1].Gen.SHA256 {
		t.Errorf("chainIDs: %v", ids)
	}
}

// TestPrintPullReport checks the ratios and the verdicts on the targets.
func TestPrintPullReport(t *testing.T) {
	rep := &pullReport{Runs: 1, Jobs: 3, Layers: make([]pullLayer, 4)}
	rep.PullGzip = opResult{Seconds: 5, PeakRSSKiB: 100 << 10}
	rep.PullZstd = opResult{Seconds: 2, PeakRSSKiB: 160 << 10}
	rep.SkopeoTar = opResult{Seconds: 10}
	rep.FloorGzip = opResult{Seconds: 4}
	rep.DigestsGzip = opResult{Seconds: 4.5, CPUSeconds: 8}
	rep.PullGzip.SysSeconds = 3
	var out strings.Builder
	printPullReport(&out, rep)
	for _, want := range []string{
		"| pull / (skopeo copy + tar -xzf) | 0.50× | ≤ 0.6× | yes |",
		"| pull / floor | 1.25× | ≤ 1.5× | yes |",
		"| peak RSS of the pull (gzip, zstd) | 160.00 MiB | ≤ 150 MiB | **no** |",
		"| zstd speed-up: gzip pull / zstd pull | 2.50× | ≥ 2× | yes |",
		"| (floor + digests) / floor: what checking the two digests costs | 1.12× |  |  |",
		// nproc 1 (unknown): 6 s allowed, 8 s of floor + digests.
		"| pull ≤ 1.5× floor (gzip) | 6.000 | 6.000 | 8.000 | -2.000 | 3.000 | 0.000 | **no**",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in\n%s", want, out.String())
		}
	}
}

func TestPullBudgets(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		nproc                int
		floor, digestsCPU    float64
		pullUser, pullSys    float64
		wantBudget           float64
		wantVerdictHasPrefix string
	}{
		// This machine's figures: 2 CPUs, the kernel time alone is more.
		{"kernel alone over", 2, 1.626, 3.900, 4.9, 2.2, 2*1.5*1.626 - 3.900, "**no**"},
		// Kernel time fits, kernel + other user time does not.
		{"user time over", 2, 2.0, 3.0, 5.0, 2.0, 3.0, "not as the pull works now"},
		// Many CPUs: everything fits.
		{"fits", 8, 1.626, 3.900, 4.9, 2.2, 8*1.5*1.626 - 3.900, "yes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := &pullReport{Machine: machine{NumCPU: tc.nproc}}
			rep.FloorGzip = opResult{Seconds: tc.floor}
			rep.DigestsGzip = opResult{CPUSeconds: tc.digestsCPU}
			rep.PullGzip = opResult{Seconds: 4.4, UserSeconds: tc.pullUser, SysSeconds: tc.pullSys}
			b := pullBudgets(rep)[0]
			if math.Abs(b.Budget-tc.wantBudget) > 1e-9 {
				t.Errorf("budget %.3f, want %.3f", b.Budget, tc.wantBudget)
			}
			if b.Sys != tc.pullSys || math.Abs(b.User-(tc.pullUser-tc.digestsCPU)) > 1e-9 {
				t.Errorf("sys %.3f user %.3f, want %.3f and %.3f", b.Sys, b.User, tc.pullSys, tc.pullUser-tc.digestsCPU)
			}
			if v := b.Verdict(); !strings.HasPrefix(v, tc.wantVerdictHasPrefix) {
				t.Errorf("verdict %q, want it to start with %q", v, tc.wantVerdictHasPrefix)
			}
		})
	}
	// The zstd target's budget: the gzip pull's time halved.
	rep := &pullReport{Machine: machine{NumCPU: 2}}
	rep.FloorGzip, rep.DigestsGzip = opResult{Seconds: 1.6}, opResult{CPUSeconds: 3.9}
	rep.PullGzip = opResult{Seconds: 4.4}
	rep.DigestsZstd = opResult{CPUSeconds: 1.8}
	rep.PullZstd = opResult{UserSeconds: 2.9, SysSeconds: 2.3}
	rep.PullGzip.SysSeconds = 1.4
	if got, want := zstdBound(rep), (3.9+1.4)/(1.8+2.3); math.Abs(got-want) > 1e-9 {
		t.Errorf("zstd bound %.3f, want %.3f", got, want)
	}
	z := pullBudgets(rep)[1]
	if math.Abs(z.Wall-2.2) > 1e-9 || math.Abs(z.Budget-(2*2.2-1.8)) > 1e-9 || z.Sys != 2.3 {
		t.Errorf("zstd budget %+v, want wall 2.2, budget 2.6, sys 2.3", z)
	}
}
