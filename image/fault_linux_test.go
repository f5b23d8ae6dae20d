//go:build linux

package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/winlayer/winlayer/internal/registrytest"
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
		t.Fatalf("mount a small tmpfs as root: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(mnt, 0) })
	// Layers of incompressible data, 700 KB each: with their kept
	// blobs, three do not fit.
	tars := make([][]byte, 3)
	for i := range tars {
		tars[i] = bigLayerTar(uint64(40+i), 700<<10)
	}
	img := testImage(t, "windows", "amd64", "10.0.20348.1", tars, false)
	ds, _ := layerDigests(t, img)
	// Each layer blob is downloaded once: a full disk is no reason to read
	// the failed layer's blob again to check its digest (a whole second
	// download of what may be gigabytes before the error shows).
	var gets [3]atomic.Int32
	var wraps []func(http.Handler) http.Handler
	for i, d := range ds {
		wraps = append(wraps, blobWrap(d, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
			gets[i].Add(1)
			next.ServeHTTP(w, r)
		}))
	}
	reg := registrytest.InProcess(t, wraps...)
	host := reg.Host
	pushTest(t, host, "full/app:1", img)
	for i := range gets {
		gets[i].Store(0)
	}
	ls, err := layer.Open(mnt)
	if err != nil {
		t.Fatal(err)
	}
	s := OpenStore(ls)
	err = pullErr(s, host+"/full/app:1", Config{Jobs: 1})
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("pull onto a full disk: %v, want ENOSPC", err)
	}
	for i := range gets {
		if n := gets[i].Load(); n > 1 {
			t.Errorf("layer %d blob downloaded %d times, want at most once", i+1, n)
		}
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

// TestPullKilled: a pull process killed (SIGKILL) while a blob stalls
// leaves no image record and no staging directory once the store is
// opened again; the layers it completed are whole and the next pull
// reuses them, and removes the temporary blob file it left.
func TestPullKilled(t *testing.T) {
	img := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(17, 3), false)
	ds, _ := layerDigests(t, img)
	var stall atomic.Bool
	stall.Store(true)
	reg := registrytest.InProcess(t, blobWrap(ds[2], func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if !stall.Load() {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Length", "100000")
		w.Write([]byte{0x1f, 0x8b, 0x08})
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	pushTest(t, reg.Host, "killed/app:1", img)
	home := t.TempDir()
	ready := filepath.Join(t.TempDir(), "ready")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "WINLAYER_TEST_KILLED_CHILD=1", "WINLAYER_TEST_HOME="+home,
		"WINLAYER_TEST_REF="+reg.Host+"/killed/app:1", "WINLAYER_TEST_READY="+ready)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the child never got two layers done:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	ls, err := layer.Open(home) // cleans what the killed import left
	if err != nil {
		t.Fatal(err)
	}
	s := OpenStore(ls)
	if imgs, _ := s.Images(); len(imgs) != 0 {
		t.Errorf("a killed pull left %d images", len(imgs))
	}
	if des, _ := os.ReadDir(filepath.Join(home, ".staging")); len(des) != 0 {
		t.Errorf("staging after reopening: %d entries", len(des))
	}
	tmp := filepath.Join(home, blobsDir, "tmp")
	if des, _ := os.ReadDir(tmp); len(des) == 0 {
		t.Errorf("the killed pull left no temporary blob in %s (the stalled layer's)", tmp)
	}
	stall.Store(false)
	r := pullOne(t, s, reg.Host+"/killed/app:1", PullOptions{})
	if r.Skipped != 2 || r.Fetched != 1 {
		t.Errorf("pull after the kill: fetched %d skipped %d, want 1 and 2", r.Fetched, r.Skipped)
	}
	checkExports(t, s, img, r)
	// The next pull removed the dead one's temporary file (before, it
	// stayed until an image rm an hour later).
	if des, _ := os.ReadDir(tmp); len(des) != 0 {
		t.Errorf("%s after the next pull: %s…", tmp, des[0].Name())
	}
}

// killedChild is the pull TestPullKilled kills: the test binary run again
// with WINLAYER_TEST_KILLED_CHILD set (see TestMain). It never returns.
func killedChild() {
	fail := func(err error) {
		os.Stderr.WriteString("killed child: " + err.Error() + "\n")
		os.Exit(2)
	}
	ls, err := layer.Open(os.Getenv("WINLAYER_TEST_HOME"))
	if err != nil {
		fail(err)
	}
	loc, err := ParseLocation(os.Getenv("WINLAYER_TEST_REF"))
	if err != nil {
		fail(err)
	}
	var done atomic.Int32
	_, err = OpenStore(ls).Pull(context.Background(), loc, Config{}, PullOptions{Progress: func(e Event) {
		if e.Kind == EventDone && done.Add(1) == 2 {
			os.WriteFile(os.Getenv("WINLAYER_TEST_READY"), nil, 0o644)
		}
	}})
	fail(fmt.Errorf("the pull returned (%v); it should have been killed", err))
}

func init() { childHooks = append(childHooks, childHook{"WINLAYER_TEST_KILLED_CHILD", killedChild}) }
