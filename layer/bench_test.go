package layer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"testing"

	lt "github.com/winlayer/winlayer/layer/layertest"
)

// smallFilesTar is a layer of n small files (100 B – 3 KiB) in 20-file directories.
func smallFilesTar(n int) []byte {
	es := []lt.Entry{lt.Dir("Files")}
	data := lt.Bytes(1, 4096)
	for i := 0; i < n; i++ {
		if i%20 == 0 {
			es = append(es, lt.Dir(fmt.Sprintf("Files/d%05d", i/20)))
		}
		es = append(es, lt.File(fmt.Sprintf("Files/d%05d/f%02d.txt", i/20, i%20), data[:100+(i*37)%3000]))
	}
	return lt.Tar(es...)
}

func benchDir(b *testing.B) string {
	if d := os.Getenv("WINLAYER_BENCH_DIR"); d != "" {
		dir, err := os.MkdirTemp(d, "bench")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(dir) })
		return dir
	}
	return b.TempDir()
}

// BenchmarkImportSmallFiles imports a layer of 5,000 small files
// (WINLAYER_BENCH_DIR picks the file system, e.g. /dev/shm to leave the
// disk out).
func BenchmarkImportSmallFiles(b *testing.B) {
	in := smallFilesTar(5000)
	s, err := Open(benchDir(b))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := fmt.Sprint("l", i)
		if _, err := s.Import(context.Background(), id, nil, bytes.NewReader(in)); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Remove(context.Background(), id)
		b.StartTimer()
	}
	b.ReportMetric(float64(5000*b.N)/b.Elapsed().Seconds(), "files/s")
}

// BenchmarkExportSmallFiles exports (byte-exact, from tar-split) the same layer.
func BenchmarkExportSmallFiles(b *testing.B) {
	in := smallFilesTar(5000)
	s, err := Open(benchDir(b))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Import(context.Background(), "l", nil, bytes.NewReader(in)); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rc, err := s.Export(context.Background(), "l")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
	b.ReportMetric(float64(5000*b.N)/b.Elapsed().Seconds(), "files/s")
}

// BenchmarkImportLargeFiles imports a layer of four 32 MiB files: the
// Writer's large-data path (ReadFrom straight into the sink's buffers).
func BenchmarkImportLargeFiles(b *testing.B) {
	data := lt.Bytes(2, 32<<20)
	es := []lt.Entry{lt.Dir("Files")}
	for i := 0; i < 4; i++ {
		es = append(es, lt.File(fmt.Sprintf("Files/big%d.bin", i), data))
	}
	in := lt.Tar(es...)
	s, err := Open(benchDir(b))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := fmt.Sprint("l", i)
		if _, err := s.Import(context.Background(), id, nil, bytes.NewReader(in)); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Remove(context.Background(), id)
		b.StartTimer()
	}
}
