//go:build unix

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/winlayer/winlayer/internal/registrytest"
	lt "github.com/winlayer/winlayer/layer/layertest"

	"github.com/winlayer/winlayer/image/imagetest"
)

// TestMain runs the command itself when the test re-executes its own
// binary with WINLAYER_TEST_MAIN=1, so that the tests can send it real
// signals.
func TestMain(m *testing.M) {
	if os.Getenv("WINLAYER_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// winlayer is the command winlayer with args, run by this test binary.
func winlayer(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "WINLAYER_TEST_MAIN=1")
	return cmd
}

// exitStatus is the exit status of a finished command (-1 when a signal
// killed it).
func exitStatus(err error) int {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// interrupt starts cmd, waits for ready, sends it sig and returns its exit
// status, how long after the signal it ended, and its standard error. It
// fails the test if cmd is still running 3 s after the signal.
func interrupt(t *testing.T, cmd *exec.Cmd, ready func(), sig syscall.Signal) (int, time.Duration, string) {
	t.Helper()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	ready()
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	select {
	case err := <-done:
		took := time.Since(start)
		t.Logf("%v: exit %d after %v: %s", sig, exitStatus(err), took, strings.TrimSpace(stderr.String()))
		return exitStatus(err), took, stderr.String()
	case <-time.After(3 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s still running 3s after %v; stderr %q", strings.Join(cmd.Args[1:], " "), sig, stderr.String())
	}
	return 0, 0, ""
}

func sleepHalfSecond() { time.Sleep(500 * time.Millisecond) }

// signalCases are the signals the command handles and the exit status
// each gives, the shell's 128+signal.
var signalCases = []struct {
	sig  syscall.Signal
	want int
}{
	{syscall.SIGINT, 130},
	{syscall.SIGTERM, 143},
}

// TestInterruptStalledImport is `sleep 100 | winlayer import x` and
// Ctrl-C (or a SIGTERM): the import stops within a second of the signal,
// says it was cancelled, exits 128+signal (130, 143), and the store holds
// no layer and no staging debris. Before, SIGINT was caught and the import
// went on waiting for its input; then it exited 1.
func TestInterruptStalledImport(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	for _, tc := range signalCases {
		t.Run(tc.sig.String(), func(t *testing.T) {
			store := t.TempDir()
			cmd := winlayer("--store", store, "import", "x")
			stdin, err := cmd.StdinPipe() // never written: the input stalls
			if err != nil {
				t.Fatal(err)
			}
			defer stdin.Close()
			code, took, stderr := interrupt(t, cmd, sleepHalfSecond, tc.sig)
			if code != tc.want || took > time.Second || !strings.Contains(stderr, "import x: cancelled") || !strings.Contains(stderr, "context canceled") {
				t.Errorf("after %v: exit %d after %v, stderr %q; want %d within 1s, saying it was cancelled", tc.sig, code, took, stderr, tc.want)
			}
			if left, err := lt.Leftovers(store); err != nil || len(left) != 0 {
				t.Errorf("left in the store: %q, %v", left, err)
			}
		})
	}
}

// TestInterruptBlockedExport is `winlayer export x | sleep 100` with
// Ctrl-C (or SIGTERM) sent to winlayer alone: the export blocked on a full
// pipe stops within a second of the signal and exits 128+signal. Before,
// it stayed blocked; then it exited 1.
func TestInterruptBlockedExport(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	store := t.TempDir()
	imp := winlayer("--store", store, "import", "x")
	imp.Stdin = bytes.NewReader(lt.Tar(lt.Dir("Files"), lt.File("Files/big.bin", lt.Bytes(1, 8<<20))))
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	for _, tc := range signalCases {
		t.Run(tc.sig.String(), func(t *testing.T) {
			cmd := winlayer("--store", store, "export", "x")
			stdout, err := cmd.StdoutPipe() // never read: the pipe fills up
			if err != nil {
				t.Fatal(err)
			}
			defer stdout.Close()
			code, took, stderr := interrupt(t, cmd, sleepHalfSecond, tc.sig)
			if code != tc.want || took > time.Second || !strings.Contains(stderr, "export x: cancelled") || !strings.Contains(stderr, "context canceled") {
				t.Errorf("after %v: exit %d after %v, stderr %q; want %d within 1s, saying it was cancelled", tc.sig, code, took, stderr, tc.want)
			}
		})
	}
}

// TestInterruptStalledPull is `winlayer image pull` of an image whose
// second layer's blob stalls after its first bytes, and Ctrl-C (or
// SIGTERM) once the pull waits in that blob: the pull stops within a
// second, says the completed layers stay, records no image, and exits
// 128+signal.
func TestInterruptStalledPull(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	img := empty.Image
	for i := range 2 {
		tb := lt.Tar(lt.Dir("Files"), lt.File(fmt.Sprintf("Files/f%d.txt", i), lt.Bytes(uint64(40+i), 3000)))
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(tb)), nil })
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	img = imagetest.WithPlatform(t, img, "windows", "amd64", "10.0.20348.1")
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	stalled := "/blobs/" + m.Layers[1].Digest.String()
	reached := make(chan struct{}, 4)
	reg := registrytest.InProcess(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, stalled) {
				next.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Content-Length", "100000")
			w.Write([]byte{0x1f, 0x8b}) // a gzip stream that goes no further
			w.(http.Flusher).Flush()
			reached <- struct{}{}
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		})
	})
	ref := reg.Ref(t, "stall/app:1")
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	for _, tc := range signalCases {
		t.Run(tc.sig.String(), func(t *testing.T) {
			store := t.TempDir()
			cmd := winlayer("--store", store, "image", "pull", "-q", ref.String())
			code, took, stderr := interrupt(t, cmd, func() {
				select {
				case <-reached:
					time.Sleep(100 * time.Millisecond)
				case <-time.After(10 * time.Second):
					t.Error("the pull never asked for the stalled blob")
				}
			}, tc.sig)
			if code != tc.want || took > time.Second || !strings.Contains(stderr, "context canceled") || !strings.Contains(stderr, "stay in the store") {
				t.Errorf("after %v: exit %d after %v, stderr %q; want %d within 1s, saying the complete layers stay", tc.sig, code, took, stderr, tc.want)
			}
			out, err := winlayer("--store", store, "image", "ls", "--json").Output()
			if err != nil || strings.TrimSpace(string(out)) != "[]" {
				t.Errorf("images after an interrupted pull: %q, %v", out, err)
			}
		})
	}
}

// TestExitStatus: without a signal, a command exits 0 on success, 1 on a
// failure and 2 on a usage error, as before.
func TestExitStatus(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	store := t.TempDir()
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"--store", store, "import", "-f", filepath.Join(store, "missing.tar"), "x"}, 1},
		{[]string{"--store", filepath.Join(store, "nostore"), "ls"}, 1},
		{[]string{"--store", store, "ls"}, 0},
		{[]string{"--store", store, "import"}, 2},
		{[]string{"frobnicate"}, 2},
		{[]string{"--version"}, 0},
	} {
		err := winlayer(tc.args...).Run()
		if got := exitStatus(err); got != tc.want {
			t.Errorf("winlayer %s: exit %d (%v), want %d", strings.Join(tc.args, " "), got, err, tc.want)
		}
	}
}
