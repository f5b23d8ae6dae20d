//go:build linux

package layer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/winlayer/winlayer/internal/directio"
	"github.com/winlayer/winlayer/layer/layertest"
)

// directSizes are file sizes around every boundary of the sink: the
// O_DIRECT block, the sink's buffer and directMin as the tests set it.
var directSizes = []int{
	0, 1, 4095, 4096, 4097, 8191, 8192, 16383, 16384, 16385, 20000, 65535, 65536,
	directio.BufSize - 1, directio.BufSize, directio.BufSize + 1, 2*directio.BufSize + 4096, 3*directio.BufSize + 17,
	1<<20 - 1, 1 << 20, 1<<20 + 1, 5<<20 + 4097,
}

func directTar() []byte {
	es := []layertest.Entry{layertest.Dir("Files")}
	for i, n := range directSizes {
		es = append(es, layertest.File(fmt.Sprintf("Files/f%02d-%d.bin", i, n), layertest.Bytes(uint64(1000+i), n)))
	}
	return layertest.Tar(es...)
}

// TestDirectWrites imports and exports files of every size around the
// sink's boundaries, with O_DIRECT from 4 KiB (so that almost every file
// takes the direct path), at the default threshold, and in a directory on
// tmpfs when there is one, and checks both the files on disk and the
// exported bytes.
func TestDirectWrites(t *testing.T) {
	in := directTar()
	dirs := map[string]string{"tempdir": t.TempDir()}
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "winlayer-test-")
		if err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			dirs["tmpfs"] = d
		}
	}
	for dname, dir := range dirs {
		for _, min := range []int64{4096, 16 << 10, 1 << 20} {
			t.Run(fmt.Sprintf("%s/min%d", dname, min), func(t *testing.T) {
				defer func(r, w int64) { directio.DirectMin, directio.DirectWriteMin = r, w }(directio.DirectMin, directio.DirectWriteMin)
				directio.DirectMin, directio.DirectWriteMin = min, min
				home, err := os.MkdirTemp(dir, "store-")
				if err != nil {
					t.Fatal(err)
				}
				s, err := Open(home)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.Import(context.Background(), "l", nil, bytes.NewReader(in)); err != nil {
					t.Fatal(err)
				}
				for i, n := range directSizes {
					name := filepath.Join(s.Dir("l"), "Files", fmt.Sprintf("f%02d-%d.bin", i, n))
					got, err := os.ReadFile(name)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, layertest.Bytes(uint64(1000+i), n)) {
						t.Errorf("%s: %d bytes on disk differ from the %d imported", name, len(got), n)
					}
				}
				// Drop what the checks above read, so the export reads the
				// large files the way an import leaves them.
				dropCache(t, s.Dir("l"))
				if got := exportAll(t, s, "l"); !bytes.Equal(got, in) {
					t.Fatalf("export differs from the import (%d bytes, want %d)", len(got), len(in))
				}
			})
		}
	}
}

// dropCache asks the kernel to forget the cached pages of every file under dir.
func dropCache(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
	})
}

// TestDirectFileLeavesCacheEmpty: a large file an import writes is not in
// the page cache afterwards (it went to the disk directly), except on
// file systems that keep everything there.
func TestDirectFileLeavesCacheEmpty(t *testing.T) {
	home := t.TempDir()
	if inPageCacheFS(t, home) {
		t.Skip("the test directory is on a file system whose files live in the page cache")
	}
	s, err := Open(home)
	if err != nil {
		t.Fatal(err)
	}
	data := layertest.Bytes(3, 4<<20)
	in := layertest.Tar(layertest.Dir("Files"), layertest.File("Files/big.bin", data))
	if _, err := s.Import(context.Background(), "l", nil, bytes.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(s.Dir("l"), "Files", "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cs unix.Cachestat_t
	if err := unix.Cachestat(uint(f.Fd()), &unix.CachestatRange{Len: 4 << 20}, &cs, 0); err != nil {
		t.Skipf("cachestat: %v", err)
	}
	// The last partial block goes through the cache; 4 MiB has none.
	if cs.Cache != 0 {
		t.Errorf("%d pages of a 4 MiB imported file are in the page cache; want it written with O_DIRECT", cs.Cache)
	}
}

// TestDirectReadDetectsChange: a large payload truncated or changed on
// disk after import fails the export with ErrCorrupt naming the file,
// through the read-ahead path as through the plain one.
func TestDirectReadDetectsChange(t *testing.T) {
	data := layertest.Bytes(4, 3<<20+5)
	in := layertest.Tar(layertest.Dir("Files"), layertest.File("Files/big.bin", data))
	for _, tc := range []struct {
		name   string
		change func(p string) error
	}{
		{"truncated", func(p string) error { return os.Truncate(p, 2<<20) }},
		{"changed", func(p string) error {
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteAt([]byte("X"), 1<<20+3)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Import(context.Background(), "l", nil, bytes.NewReader(in)); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(s.Dir("l"), "Files", "big.bin")
			if err := tc.change(p); err != nil {
				t.Fatal(err)
			}
			unix.Sync()
			dropCache(t, s.Dir("l"))
			rc, err := s.Export(context.Background(), "l")
			if err != nil {
				t.Fatal(err)
			}
			_, err = io.Copy(io.Discard, rc)
			rc.Close()
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "Files/big.bin") {
				t.Fatalf("export after the file was %s: %v, want ErrCorrupt naming Files/big.bin", tc.name, err)
			}
		})
	}
}

// TestHardLinkToSinkFile: a hard link to a file of this layer still being
// written by the sink links the complete file.
func TestHardLinkToSinkFile(t *testing.T) {
	data := layertest.Bytes(6, 2<<20+7)
	in := layertest.Tar(layertest.Dir("Files"),
		layertest.File("Files/big.bin", data),
		layertest.Entry{Name: "Files/big-link.bin", Type: '1', Link: "Files/big.bin"},
		layertest.File("Files/mid.bin", data[:100000]),
		layertest.Entry{Name: "Files/mid-link.bin", Type: '1', Link: "Files/mid.bin"})
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// The race between the link and the sink goes either way: try it
	// several times.
	for i := 0; i < 10; i++ {
		id := fmt.Sprint("l", i)
		if _, err := s.Import(context.Background(), id, nil, bytes.NewReader(in)); err != nil {
			t.Fatal(err)
		}
		for name, want := range map[string][]byte{"big-link.bin": data, "mid-link.bin": data[:100000]} {
			p := filepath.Join(s.Dir(id), "Files", name)
			got, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s: %d bytes, want the %d of its target", name, len(got), len(want))
			}
			var st unix.Stat_t
			if err := unix.Stat(p, &st); err != nil || st.Nlink != 2 {
				t.Errorf("%s: link count %d (%v), want 2", name, st.Nlink, err)
			}
		}
		if got := exportAll(t, s, id); !bytes.Equal(got, in) {
			t.Fatal("export differs from the import")
		}
	}
}

// TestImportOutOfSpace: an import that runs out of space in the middle
// of its large files (written by the sink) fails with ENOSPC naming the
// layer, and leaves the store as it was: no layer, no staging debris.
func TestImportOutOfSpace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=6m"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	small := layertest.Tar(layertest.Dir("Files"), layertest.File("Files/a.txt", []byte("kept")))
	if _, err := s.Import(context.Background(), "before", nil, bytes.NewReader(small)); err != nil {
		t.Fatal(err)
	}
	in := layertest.Tar(layertest.Dir("Files"),
		layertest.File("Files/one.bin", layertest.Bytes(1, 3<<20+5)),
		layertest.File("Files/two.bin", layertest.Bytes(2, 5<<20)),
		layertest.File("Files/three.bin", layertest.Bytes(3, 100000)))
	_, err = s.Import(context.Background(), "big", nil, bytes.NewReader(in))
	t.Logf("import into a full file system: %v", err)
	if !errors.Is(err, unix.ENOSPC) || !strings.Contains(err.Error(), "import big") {
		t.Fatalf("import into a full file system: %v, want ENOSPC naming the layer", err)
	}
	if s.Exists("big") {
		t.Error("the failed layer exists")
	}
	left, _ := os.ReadDir(filepath.Join(dir, stagingDir))
	if len(left) != 0 {
		t.Errorf("%d staging directories left", len(left))
	}
	if got := exportAll(t, s, "before"); !bytes.Equal(got, small) {
		t.Error("the layer imported before changed")
	}
	// The space is back: a layer that fits imports.
	if _, err := s.Import(context.Background(), "after", nil, bytes.NewReader(small)); err != nil {
		t.Fatalf("import after the failure: %v", err)
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
