package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/winlayer/winlayer/internal/registrytest"
)

// cliKilledAt runs the command line in a process of its own that kills
// itself (SIGKILL) at the layer store's fault point n (WINLAYER_FAULT_AT),
// and fails t unless it died so.
func cliKilledAt(t *testing.T, n int, args ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "WINLAYER_TEST_CLI=1", "WINLAYER_FAULT_AT="+strconv.Itoa(n))
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("%v with WINLAYER_FAULT_AT=%d: %v, want killed by SIGKILL: %s", args, n, err, out)
	}
}

// TestImageRmKilledThenCleanup: an image rm killed (SIGKILL: power loss,
// the OOM killer) after it dropped the image record, while it removed the
// image's layers, leaves layers and blobs no image names. The next
// 'winlayer cleanup' removes them all. Before, cleanup left them (it only
// cleared staging and -removing directories), and the blobs of the
// removed image were forgotten until an hour-old orphan sweep: re-running
// the image rm could not help either, the image being gone.
func TestImageRmKilledThenCleanup(t *testing.T) {
	store := t.TempDir()
	sample := "oci:" + filepath.Join(testdata, "image") + ":latest"
	out, errOut, code := run(t, nil, "--store", store, "image", "load", "-q", "--platform", "windows/amd64:10.0.20348", sample)
	if code != 0 {
		t.Fatalf("load the sample: %d %s", code, errOut)
	}
	manifest := strings.Fields(out)[0]
	blobs := func() []string {
		des, err := os.ReadDir(filepath.Join(store, ".blobs", "sha256"))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, de := range des {
			names = append(names, de.Name())
		}
		return names
	}
	if len(blobs()) == 0 {
		t.Fatal("the load kept no blob: nothing to test")
	}
	// Fault point 1 is the first layer removal's: the record is gone by then.
	cliKilledAt(t, 1, "--store", store, "image", "rm", manifest)
	if out, errOut, code := run(t, nil, "--store", store, "image", "ls", "--json"); code != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("after the killed rm: image ls %d %q %s, want no image", code, out, errOut)
	}
	if out, _, _ := run(t, nil, "--store", store, "ls"); !strings.Contains(out, "\n") || len(strings.Split(strings.TrimSpace(out), "\n")) < 2 {
		t.Fatalf("after the killed rm: ls %q, want the image's layers still there (killed too late?)", out)
	}
	out, errOut, code = run(t, nil, "--store", store, "cleanup")
	if code != 0 {
		t.Fatalf("cleanup: %d %s", code, errOut)
	}
	t.Logf("cleanup: %s%s", out, errOut)
	if out, _, _ := run(t, nil, "--store", store, "ls", "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("layers left after cleanup: %s", out)
	}
	if b := blobs(); len(b) != 0 {
		t.Errorf("blobs left after cleanup: %q", b)
	}
	if _, errOut, code := run(t, nil, "--store", store, "check"); code != 0 {
		t.Errorf("check after cleanup: %d %s", code, errOut)
	}
}

// tempFiles lists the temporary files under root (names with ".tmp").
func tempFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".tmp") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// TestCopyKilledThenRerun: an image copy killed (SIGKILL) while a layer
// blob stalls leaves its temporary file at the destination (beside a
// docker-archive FILE, in an oci:DIR's blobs/sha256/); running the copy
// again succeeds and removes it. Before, the re-run left the dead copy's
// temporary file for good, as large as what it had written.
func TestCopyKilledThenRerun(t *testing.T) {
	ref, stall := stalledRegistry(t)
	for _, tc := range []struct{ name, dest string }{
		{"docker-archive", "docker-archive:%s/out.tar"},
		{"oci", "oci:%s/out:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stall.Store(true)
			dir := t.TempDir()
			dest := fmt.Sprintf(tc.dest, dir)
			killWhenTemp(t, dir, "image", "copy", "-q", ref, dest)
			stall.Store(false)
			if _, errOut, code := run(t, nil, "image", "copy", "-q", ref, dest); code != 0 {
				t.Fatalf("copy again: %d %s", code, errOut)
			}
			if left := tempFiles(t, dir); len(left) != 0 {
				t.Errorf("left after the copy ran again: %q", left)
			}
		})
	}
}

// TestPullKilledThenCleanup: the temporary blob file of a pull killed
// (SIGKILL) into a new store, before any image was recorded, goes with
// 'winlayer cleanup'. Before, cleanup left it (up to an hour, or to the
// next pull), having looked only at stores with an image index.
func TestPullKilledThenCleanup(t *testing.T) {
	ref, _ := stalledRegistry(t)
	store := filepath.Join(t.TempDir(), "store")
	killWhenTemp(t, filepath.Join(store, ".blobs", "tmp"), "--store", store, "image", "pull", "-q", ref)
	if _, errOut, code := run(t, nil, "--store", store, "cleanup"); code != 0 {
		t.Fatalf("cleanup: %d %s", code, errOut)
	}
	if des, _ := os.ReadDir(filepath.Join(store, ".blobs", "tmp")); len(des) != 0 {
		t.Errorf("left in .blobs/tmp after cleanup: %s…", des[0].Name())
	}
}

// killWhenTemp runs the command line in a process of its own, kills it
// (SIGKILL) once a temporary file shows under dir (or, for .blobs/tmp,
// any file), and fails t if none did.
func killWhenTemp(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "WINLAYER_TEST_CLI=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	seen := func() bool {
		if filepath.Base(dir) == "tmp" {
			des, _ := os.ReadDir(dir)
			return len(des) > 0
		}
		return len(tempFiles(t, dir)) > 0
	}
	deadline := time.Now().Add(20 * time.Second)
	for !seen() {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("no temporary file in %s after 20 s: %s", dir, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // into the stalled blob
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if !seen() {
		t.Fatalf("the killed %v left no temporary file: nothing to test", args)
	}
}

// stalledRegistry is an in-process registry holding a two-layer image
// (ref) whose second layer blob stalls while stall is true.
func stalledRegistry(t *testing.T) (string, *atomic.Bool) {
	return stallingRegistry(t, cliTestImage(t, "windows", "10.0.20348.1", 9, 2), "killed/app:1")
}

// stallingRegistry pushes img as repo (REPO:TAG) to an in-process
// registry whose GET of the image's second layer blob, while the returned
// flag is true (it starts true), sends the gzip magic and then nothing
// until the client goes away; it returns the image's reference.
func stallingRegistry(t *testing.T, img v1.Image, repo string) (string, *atomic.Bool) {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	stalled, size := "/blobs/"+m.Layers[1].Digest.String(), m.Layers[1].Size
	var stall atomic.Bool
	stall.Store(true)
	reg := registrytest.InProcess(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if stall.Load() && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, stalled) {
				w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
				w.Write([]byte{0x1f, 0x8b})
				w.(http.Flusher).Flush()
				<-r.Context().Done()
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	ref := reg.Host + "/" + repo
	cliPush(t, ref, img)
	return ref, &stall
}
