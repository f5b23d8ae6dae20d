package wintar_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/winlayer/winlayer/backupstream"
	"github.com/winlayer/winlayer/wintar"
)

const (
	largeSize  = 256 << 20
	smallFiles = 10000
	smallSize  = 1000
)

// discardLayer is a LayerWriter that drops everything.
type discardLayer struct{}

func (discardLayer) Add(string, *backupstream.FileBasicInfo) error { return nil }
func (discardLayer) AddLink(string, string) error                  { return nil }
func (discardLayer) Remove(string) error                           { return nil }
func (discardLayer) Write(p []byte) (int, error)                   { return len(p), nil }

// patterned returns n bytes that are not all zero.
func patterned(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

var benchSD = bytes.Repeat([]byte{1, 0, 4, 0x80}, 20)

func benchPAX(i int) map[string]string {
	return map[string]string{
		wintar.PAXFileAttr:                     "32",
		wintar.PAXCreationTime:                 "1600000000.1234567",
		wintar.PAXRawSD:                        b64(string(benchSD)),
		wintar.PAXEAPrefix + "$KERNEL.PURGE.X": b64(fmt.Sprint("value-", i)),
	}
}

// countAllocs runs f and returns the number of heap allocations it made.
func countAllocs(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.Mallocs - before.Mallocs
}

// BenchmarkTarToStreamLarge imports one 256 MiB file from a tar held in
// memory into a LayerWriter that discards.
func BenchmarkTarToStreamLarge(b *testing.B) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "Files/big.bin", Typeflag: tar.TypeReg, Size: largeSize, Mode: 0o100000, Format: tar.FormatPAX, PAXRecords: benchPAX(0)}); err != nil {
		b.Fatal(err)
	}
	tw.Write(patterned(largeSize))
	tw.Close()
	tarBytes := buf.Bytes()
	b.SetBytes(largeSize)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		n, err := wintar.Import(context.Background(), tar.NewReader(bytes.NewReader(tarBytes)), discardLayer{})
		if err != nil || n != largeSize {
			b.Fatal(n, err)
		}
	}
}

// BenchmarkStreamToTarLarge exports one 256 MiB backup stream to a tar
// that goes to io.Discard, through the two-pass (seekable) and the
// one-pass path.
func BenchmarkStreamToTarLarge(b *testing.B) {
	var buf bytes.Buffer
	bw := backupstream.NewWriter(&buf)
	bw.WriteHeader(&backupstream.Header{ID: backupstream.StreamSecurity, Size: int64(len(benchSD))})
	bw.Write(benchSD)
	bw.WriteHeader(&backupstream.Header{ID: backupstream.StreamData, Size: largeSize})
	bw.Write(patterned(largeSize))
	stream := buf.Bytes()
	for _, m := range readModes[:2] {
		b.Run(m.name, func(b *testing.B) {
			r := bytes.NewReader(stream)
			var src io.Reader = r
			if !m.seekable {
				src = onlyReader{r}
			}
			b.SetBytes(largeSize)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				r.Reset(stream)
				tw := tar.NewWriter(io.Discard)
				if err := wintar.WriteTarFileFromBackupStream(tw, src, `Files\big.bin`, largeSize, &fileInfo); err != nil {
					b.Fatal(err)
				}
				if err := tw.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTarToStreamManySmall imports 10,000 files of 1000 bytes, each
// with a security descriptor and an EA.
func BenchmarkTarToStreamManySmall(b *testing.B) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	data := patterned(smallSize)
	for i := range smallFiles {
		if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("Files/dir%d/file%d.txt", i/100, i), Typeflag: tar.TypeReg, Size: smallSize, Mode: 0o100000, Format: tar.FormatPAX, PAXRecords: benchPAX(i)}); err != nil {
			b.Fatal(err)
		}
		tw.Write(data)
	}
	tw.Close()
	tarBytes := buf.Bytes()
	b.SetBytes(int64(len(tarBytes)))
	b.ReportAllocs()
	var allocs uint64
	b.ResetTimer()
	for b.Loop() {
		allocs += countAllocs(func() {
			n, err := wintar.Import(context.Background(), tar.NewReader(bytes.NewReader(tarBytes)), discardLayer{})
			if err != nil || n != smallFiles*smallSize {
				b.Fatal(n, err)
			}
		})
	}
	b.ReportMetric(float64(smallFiles*b.N)/b.Elapsed().Seconds(), "entries/s")
	b.ReportMetric(float64(allocs)/float64(smallFiles*b.N), "allocs/entry")
}

// BenchmarkStreamToTarManySmall exports 10,000 files of 1000 bytes, each
// with a security descriptor and an EA, into one tar to io.Discard.
func BenchmarkStreamToTarManySmall(b *testing.B) {
	data := patterned(smallSize)
	streams := make([][]byte, smallFiles)
	names := make([]string, smallFiles)
	total := 0
	for i := range streams {
		eas, _ := backupstream.EncodeEAs([]backupstream.EA{{Name: "$KERNEL.PURGE.X", Value: fmt.Appendf(nil, "value-%d", i)}})
		streams[i] = streamOf(b, part{id: backupstream.StreamSecurity, data: string(benchSD)}, part{id: backupstream.StreamEAData, data: string(eas)}, part{id: backupstream.StreamData, data: string(data)})
		names[i] = fmt.Sprintf(`Files\dir%d\file%d.txt`, i/100, i)
		total += len(streams[i])
	}
	for _, m := range readModes[:2] {
		b.Run(m.name, func(b *testing.B) {
			r := bytes.NewReader(nil)
			var src io.Reader = r
			if !m.seekable {
				src = onlyReader{r}
			}
			b.SetBytes(int64(total))
			b.ReportAllocs()
			var allocs uint64
			b.ResetTimer()
			for b.Loop() {
				allocs += countAllocs(func() {
					tw := tar.NewWriter(io.Discard)
					for i, s := range streams {
						r.Reset(s)
						if err := wintar.WriteTarFileFromBackupStream(tw, src, names[i], smallSize, &fileInfo); err != nil {
							b.Fatal(err)
						}
					}
					if err := tw.Close(); err != nil {
						b.Fatal(err)
					}
				})
			}
			b.ReportMetric(float64(smallFiles*b.N)/b.Elapsed().Seconds(), "entries/s")
			b.ReportMetric(float64(allocs)/float64(smallFiles*b.N), "allocs/entry")
		})
	}
}
