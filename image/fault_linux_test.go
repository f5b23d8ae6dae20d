//go:build linux

package image

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/winlayer/winlayer/layer"
)

// TestPullFullDisk: a store on a small tmpfs fills up mid-pull: the pull
// fails with ENOSPC and leaves no staging directory, temporary blob or
// image record.
func TestPullFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=1536k"); err != nil {
		t.Skipf("cannot mount tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(mnt, 0) })
	// Layers of incompressible data, 700 KB each: with their kept
	// blobs, three do not fit.
	tars := make([][]byte, 3)
	for i := range tars {
		tars[i] = bigLayerTar(uint64(40+i), 700<<10)
	}
	img := testImage(t, "windows", "amd64", "10.0.20348.1", tars, false)
	host := testRegistry(t)
	pushTest(t, host, "full/app:1", img)
	ls, err := layer.Open(mnt)
	if err != nil {
		t.Fatal(err)
	}
	s := OpenStore(ls)
	err = pullErr(s, host+"/full/app:1", Config{Jobs: 1})
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("pull onto a full disk: %v, want ENOSPC", err)
	}
	for _, dir := range []string{filepath.Join(mnt, ".staging"), filepath.Join(mnt, blobsDir, "tmp")} {
		des, _ := os.ReadDir(dir)
		for _, de := range des {
			t.Errorf("%s left in %s", de.Name(), dir)
		}
	}
	if imgs, _ := s.Images(); len(imgs) != 0 {
		t.Errorf("image recorded after a failed pull")
	}
}
