package image

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/winlayer/winlayer/layer/layertest"
)

// benchLayerTar is a layer tar of about size bytes in files of 16 KiB to
// 2 MiB, half random (incompressible) and half text-like (compressible),
// as Windows layers mix binaries and text.
func benchLayerTar(seed uint64, size int) []byte {
	es := []layertest.Entry{layertest.Dir("Files"), layertest.Dir("Files/bin"), layertest.Dir("Files/etc")}
	text := bytes.Repeat([]byte("Windows container layer: C:\\Windows\\System32\\config line of text 0123456789\r\n"), 1<<15)
	for i, n := 0, 0; n < size; i++ {
		fsz := 16<<10 + (i*7919)%(2<<20)
		var data []byte
		dir := "bin"
		if i%2 == 0 {
			data = layertest.Bytes(seed*1000+uint64(i), fsz)
		} else {
			dir = "etc"
			data = text[(i*131)%len(text)/2:][:min(fsz, len(text)/2)]
		}
		es = append(es, layertest.File(fmt.Sprintf("Files/%s/f%04d", dir, i), data))
		n += len(data)
	}
	es = append(es, layertest.Dir("Hives"), layertest.File("Hives/System_Delta", layertest.Bytes(seed, 8192)))
	return layertest.Tar(es...)
}

// BenchmarkPull pulls a generated 4-layer Windows image (32 MiB
// uncompressed) from go-containerregistry's in-process registry into an
// empty store, with gzip and with zstd layers. MB/s counts uncompressed
// layer bytes; cpu-ns/op is the process's user + system time per pull.
func BenchmarkPull(b *testing.B) {
	var tars [][]byte
	total := 0
	for i := range 4 {
		t := benchLayerTar(uint64(i+1), 8<<20)
		tars = append(tars, t)
		total += len(t)
	}
	for _, zstd := range []bool{false, true} {
		name := "gzip"
		if zstd {
			name = "zstd"
		}
		b.Run(name, func(b *testing.B) {
			img := testImage(b, "windows", "amd64", "10.0.20348.1", tars, zstd)
			host := testRegistry(b)
			ref := pushTest(b, host, "bench/"+name+":1", img)
			loc, err := ParseLocation(ref.String())
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(total))
			b.ReportAllocs()
			b.ResetTimer()
			var cpu time.Duration
			for b.Loop() {
				b.StopTimer()
				s := newTestStore(b)
				b.StartTimer()
				c0 := processCPU()
				if _, err := s.Pull(context.Background(), loc, Config{}, PullOptions{}); err != nil {
					b.Fatal(err)
				}
				cpu += processCPU() - c0
			}
			// CPU time (user + system, the in-process registry's
			// included) is steadier than wall time on a shared machine.
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}
