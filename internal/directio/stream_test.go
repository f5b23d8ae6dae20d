package directio

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestStreamWriter writes files of sizes around the buffer and block
// sizes in pieces of several sizes and reads them back.
func TestStreamWriter(t *testing.T) {
	dir := t.TempDir()
	sizes := []int{0, 1, 4095, 4096, 4097, 256 << 10, 256<<10 + 1, 512<<10 - 7, 3<<20 + 123}
	for _, size := range sizes {
		for _, piece := range []int{1000, 128 << 10, 1 << 20} {
			want := make([]byte, size)
			for i := range want {
				want[i] = byte(i*7 + i/4096)
			}
			p := filepath.Join(dir, "f")
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			w := NewStreamWriter(f)
			for rest := want; len(rest) > 0; {
				n := min(piece, len(rest))
				if m, err := w.Write(rest[:n]); err != nil || m != n {
					t.Fatalf("size %d: Write = %d, %v", size, m, err)
				}
				rest = rest[n:]
			}
			if err := w.Close(); err != nil {
				t.Fatalf("size %d: Close: %v", size, err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("size %d, pieces of %d: read back %d bytes, not what was written", size, piece, len(got))
			}
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}
	}
}
