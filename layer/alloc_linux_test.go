package layer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/winlayer/winlayer/internal/directio"
	lt "github.com/winlayer/winlayer/layer/layertest"
)

// TestAllocationErrorsAreFatal: every fallocate error of a large file but
// "not supported" fails the import, naming the file and its size (EFBIG
// used to be ignored, and the import went on writing until the disk was
// full); "not supported" writes the file without preallocation.
func TestAllocationErrorsAreFatal(t *testing.T) {
	defer func(f func(int, uint32, int64, int64) error) { directio.Fallocate = f }(directio.Fallocate)
	// Direct-written, and more than one of the sink's writes (a file of
	// one write is not preallocated).
	size := int(max(directio.DirectWriteMin, directio.BufSize)) + 300000
	in := lt.Tar(lt.Dir("Files"), lt.File("Files/big.bin", lt.Bytes(7, size)))
	for _, tc := range []struct {
		errno unix.Errno
		fatal bool
	}{
		{unix.EFBIG, true}, {unix.EINVAL, true}, {unix.EIO, true}, {unix.ENOSPC, true}, {unix.EDQUOT, true},
		{unix.EOPNOTSUPP, false}, {unix.ENOSYS, false},
	} {
		t.Run(tc.errno.Error(), func(t *testing.T) {
			called := false
			directio.Fallocate = func(fd int, mode uint32, off, size int64) error { called = true; return tc.errno }
			home := t.TempDir()
			s, err := Open(home)
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Import(context.Background(), "l", nil, bytes.NewReader(in))
			t.Logf("%v", err)
			if !called {
				t.Skip("no O_DIRECT here: the sink does not preallocate")
			}
			if !tc.fatal {
				if err != nil {
					t.Fatalf("import: %v", err)
				}
				if got := exportAll(t, s, "l"); !bytes.Equal(got, in) {
					t.Fatal("export differs")
				}
				return
			}
			if !errors.Is(err, tc.errno) || !strings.Contains(err.Error(), "Files/big.bin") || !strings.Contains(err.Error(), fmt.Sprintf("%d bytes", size)) {
				t.Fatalf("import: %v, want %v naming the file and its size", err, tc.errno)
			}
			left, _ := os.ReadDir(filepath.Join(home, stagingDir))
			if len(left) != 0 || s.Exists("l") {
				t.Errorf("debris: %d staging directories, layer exists %v", len(left), s.Exists("l"))
			}
		})
	}
}
