package nocache

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// cachedPages is how many pages of f are in the page cache, or -1 where
// that cannot be asked.
func cachedPages(t *testing.T, f *os.File, size int64) int64 {
	t.Helper()
	var cs unix.Cachestat_t
	if err := unix.Cachestat(uint(f.Fd()), &unix.CachestatRange{Len: uint64(size)}, &cs, 0); err != nil {
		return -1
	}
	return int64(cs.Cache)
}

// onTmpfs reports whether dir is on tmpfs, where dropping pages is a no-op.
func onTmpfs(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Type == unix.TMPFS_MAGIC
}

// TestWriterKeepsCacheSmall writes 96 MiB and checks that at no point more
// than the window (plus the chunk being filled) is in the page cache.
func TestWriterKeepsCacheSmall(t *testing.T) {
	dir := t.TempDir()
	if onTmpfs(dir) {
		t.Skipf("%s is tmpfs: its pages cannot be dropped", dir)
	}
	f, err := os.Create(filepath.Join(dir, "big"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if cachedPages(t, f, 1) < 0 {
		t.Skip("cachestat(2) is not available")
	}
	w := NewWriter(f)
	const size = 96 << 20
	limit := int64((behind+2)*chunk) / int64(os.Getpagesize())
	p := pattern(3<<20, 1)
	var most int64
	for written := 0; written < size; written += len(p) {
		if _, err := w.Write(p); err != nil {
			t.Fatal(err)
		}
		most = max(most, cachedPages(t, f, size))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if most > limit {
		t.Fatalf("up to %d pages cached while writing, want at most %d", most, limit)
	}
	if most == 0 {
		t.Fatal("no page was ever cached: cachestat does not see this file")
	}
}

// TestWriterAppend: on a file opened with O_APPEND (a shell's >>), the
// Writer's chunks start at the end of what the file held, where the
// writes land.
func TestWriterAppend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	prefix := pattern(12345, 5)
	if err := os.WriteFile(path, prefix, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := NewWriter(f)
	if !w.on || w.base != int64(len(prefix)) {
		t.Fatalf("Writer on %v, starting at %d; want on, at %d", w.on, w.base, len(prefix))
	}
	src := pattern(2*chunk+7, 6)
	if _, err := w.Write(src); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, append(prefix, src...)) {
		t.Fatalf("file has %d bytes (want %d) or different content (%v)", len(got), len(prefix)+len(src), err)
	}
}
