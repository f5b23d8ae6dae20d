package backupstream

import (
	"bytes"
	"io"
	"sync"
	"testing"
)

const largeSize = 256 << 20

// largeStream is one data record of 256 MiB, built once.
var largeStream = sync.OnceValue(func() []byte {
	b := make([]byte, HeaderSize+largeSize)
	copy(b, rawHeader(1, 0, largeSize, 0))
	for i := HeaderSize; i < len(b); i += 4096 {
		b[i] = byte(i >> 12)
	}
	return b
})

// BenchmarkReaderLargeStream reads a 256 MiB data stream from a
// bytes.Reader: through Reader.WriteTo to io.Discard (what io.Copy does),
// and with 32 KiB Reads for comparison.
func BenchmarkReaderLargeStream(b *testing.B) {
	stream := largeStream()
	b.Run("WriteTo", func(b *testing.B) {
		b.SetBytes(int64(len(stream)))
		b.ReportAllocs()
		for b.Loop() {
			r := NewReader(bytes.NewReader(stream))
			if _, err := r.Next(); err != nil {
				b.Fatal(err)
			}
			if n, err := r.WriteTo(io.Discard); err != nil || n != largeSize {
				b.Fatal(n, err)
			}
		}
	})
	b.Run("Read32K", func(b *testing.B) {
		b.SetBytes(int64(len(stream)))
		b.ReportAllocs()
		buf := make([]byte, 32<<10)
		for b.Loop() {
			r := NewReader(bytes.NewReader(stream))
			if _, err := r.Next(); err != nil {
				b.Fatal(err)
			}
			for {
				_, err := r.Read(buf)
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// memSink is a destination that copies every byte it is given (into a
// buffer it reuses), so a benchmark measures moving the data: io.Discard's
// Write does not touch its argument.
type memSink struct {
	buf []byte
	off int
}

func (m *memSink) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if m.off == len(m.buf) {
			m.off = 0
		}
		c := copy(m.buf[m.off:], p)
		m.off += c
		p = p[c:]
	}
	return n, nil
}

// BenchmarkWriterLargeStream writes a 256 MiB data stream into a memory
// sink: with 1 MiB Writes (one copy of every byte), and with io.Copy from a
// reader without WriteTo, which goes through Writer.ReadFrom (read into the
// pooled buffer, then copied to the sink).
func BenchmarkWriterLargeStream(b *testing.B) {
	payload := largeStream()[HeaderSize:]
	sink := &memSink{buf: make([]byte, 4<<20)}
	b.Run("Write1M", func(b *testing.B) {
		b.SetBytes(HeaderSize + largeSize)
		b.ReportAllocs()
		for b.Loop() {
			w := NewWriter(sink)
			if err := w.WriteHeader(&Header{ID: StreamData, Size: largeSize}); err != nil {
				b.Fatal(err)
			}
			for p := payload; len(p) > 0; p = p[1<<20:] {
				if _, err := w.Write(p[:1<<20]); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ReadFrom", func(b *testing.B) {
		b.SetBytes(HeaderSize + largeSize)
		b.ReportAllocs()
		for b.Loop() {
			w := NewWriter(sink)
			if err := w.WriteHeader(&Header{ID: StreamData, Size: largeSize}); err != nil {
				b.Fatal(err)
			}
			if n, err := io.Copy(w, &plainReader{bytes.NewReader(payload)}); err != nil || n != largeSize {
				b.Fatal(n, err)
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// manySmall is 10,000 records cycling through sample record 2's four
// parts: SD 52 bytes, EA 36, data 22, ADS ":Zone.Identifier:$DATA" 26.
func manySmall(b *testing.B) ([]byte, []part) {
	rec := loadRecords(b, "sample.dump.jsonl")[2]
	four := goldenParts(b, rec)
	parts := make([]part, 10000)
	for i := range parts {
		parts[i] = four[i%4]
	}
	return encodeParts(b, parts), parts
}

// BenchmarkReaderManySmall reads 10,000 small records with Next and
// io.Copy to io.Discard: the per-record cost of a layer of small files.
func BenchmarkReaderManySmall(b *testing.B) {
	stream, _ := manySmall(b)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		r := NewReader(bytes.NewReader(stream))
		n := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, r); err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 10000 {
			b.Fatal(n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10000, "ns/record")
}

// BenchmarkWriterManySmall writes the same 10,000 records.
func BenchmarkWriterManySmall(b *testing.B) {
	stream, parts := manySmall(b)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		w := NewWriter(io.Discard)
		for i := range parts {
			p := &parts[i]
			if err := w.WriteHeader(&p.Header); err != nil {
				b.Fatal(err)
			}
			if _, err := w.Write(p.Data); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10000, "ns/record")
}
