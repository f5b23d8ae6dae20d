//go:build linux

package directio

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// testBytes returns n pseudo-random bytes.
func testBytes(n int) []byte {
	b := make([]byte, n)
	rng := rand.New(rand.NewPCG(5, 5))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// TestPayloadReaderStopsEarly: closing a read-ahead reader before its end
// stops its goroutine and gives back its buffers (run with -race).
func TestPayloadReaderStopsEarly(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	data := testBytes(6<<20 + 11)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, readFirst := range []int{0, 1, BufSize + 3, 6 << 20} {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		unix.Fsync(int(f.Fd()))
		unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
		r := PayloadReader(f, int64(len(data)))
		if _, ok := r.(*aheadReader); !ok && !inPageCacheFS(t, p) {
			t.Fatalf("PayloadReader of an uncached %d-byte file is a %T, want the read-ahead reader", len(data), r)
		}
		got := make([]byte, readFirst)
		if _, err := io.ReadFull(r, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data[:readFirst]) {
			t.Fatalf("first %d bytes differ", readFirst)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
}

// inPageCacheFS reports whether p is on a file system without O_DIRECT
// to the disk (tmpfs, or overlayfs whose upper layer may be tmpfs).
func inPageCacheFS(t *testing.T, p string) bool {
	t.Helper()
	var fs unix.Statfs_t
	if err := unix.Statfs(p, &fs); err != nil {
		t.Fatal(err)
	}
	return fs.Type == unix.TMPFS_MAGIC || fs.Type == unix.OVERLAYFS_SUPER_MAGIC || fs.Type == unix.RAMFS_MAGIC
}
