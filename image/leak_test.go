package image

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/winlayer/winlayer/internal/registrytest"
	"github.com/winlayer/winlayer/layer/layertest"
)

// pullGoroutines lists the goroutines running code of the pull (this
// module's image, layer and internal packages, or the decoders) that are
// not a test's own or an HTTP server's: what a finished pull must not
// leave behind.
func pullGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "testing.tRunner") || strings.Contains(g, "net/http.(*conn).serve") ||
			strings.Contains(g, "pullGoroutines") {
			continue
		}
		if strings.Contains(g, "winlayer/winlayer/") || strings.Contains(g, "klauspost/compress") {
			out = append(out, g)
		}
	}
	return out
}

// goroutineID is the "goroutine N" line that starts a stack.
func goroutineID(stack string) string {
	id, _, _ := strings.Cut(stack, " [")
	return id
}

// checkNoPullGoroutines waits up to two seconds for the pull's goroutines
// (those not in before, a pullGoroutines taken before the pull) to end and
// fails listing those still there.
func checkNoPullGoroutines(t *testing.T, before []string) {
	t.Helper()
	old := map[string]bool{}
	for _, g := range before {
		old[goroutineID(g)] = true
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		var left []string
		for _, g := range pullGoroutines() {
			if !old[goroutineID(g)] {
				left = append(left, g)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%d goroutines of the pull still running:\n%s", len(left), strings.Join(left, "\n\n"))
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPullLeavesNoGoroutines: whatever way a pull fails (a cut, damaged,
// oversized or stalled-then-cancelled blob, a wrong DiffID, a hostile
// tar), once Pull returns no goroutine of it runs on and no temporary blob
// or staging directory stays; and a good pull leaves none either.
func TestPullLeavesNoGoroutines(t *testing.T) {
	for _, zstd := range []bool{false, true} {
		tars := testLayerTars(31, 3)
		tars[1] = bigLayerTar(31, 3<<20) // several chunks of the hash pipe
		img := testImage(t, "windows", "amd64", "10.0.20348.1", tars, zstd)
		ds, ids := layerDigests(t, img)
		l, _ := img.LayerByDigest(ds[1])
		rc, _ := l.Compressed()
		blob, _ := io.ReadAll(rc)
		rc.Close()
		damaged := bytes.Clone(blob)
		for i := len(damaged) / 2; i < len(damaged)/2+64; i++ {
			damaged[i] ^= 0xff
		}
		evil := layertest.Tar(layertest.Dir("Files"), layertest.File("Files/../../evil.txt", []byte("x")))
		evilImg := testImage(t, "windows", "amd64", "10.0.20348.1", [][]byte{tars[0], evil, tars[2]}, zstd)
		evilDs, evilIDs := layerDigests(t, evilImg)
		cf, _ := img.ConfigFile()
		cf = cf.DeepCopy()
		cf.RootFS.DiffIDs[1] = sha256Of([]byte("not the layer"))
		badDiff, err := mutate.ConfigFile(img, cf)
		if err != nil {
			t.Fatal(err)
		}

		var mode atomic.Value
		mode.Store("")
		reg := registrytest.InProcess(t, blobWrap(ds[1], func(w http.ResponseWriter, r *http.Request, next http.Handler) {
			switch mode.Load().(string) {
			case "cut":
				next.ServeHTTP(&cutWriter{ResponseWriter: w, n: len(blob) / 2}, r)
			case "damaged":
				w.Header().Set("Content-Length", fmt.Sprint(len(damaged)))
				w.Write(damaged)
			case "oversized":
				junk := append(bytes.Clone(blob), bytes.Repeat([]byte{0}, 1<<20)...)
				w.Header().Set("Content-Length", fmt.Sprint(len(junk)))
				w.Write(junk)
			case "stall":
				w.Header().Set("Content-Length", fmt.Sprint(len(blob)))
				w.Write(blob[:len(blob)/2])
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			default:
				next.ServeHTTP(w, r)
			}
		}))
		pushTest(t, reg.Host, "leak/app:1", img)
		pushTest(t, reg.Host, "leak/evil:1", evilImg)
		pushTest(t, reg.Host, "leak/diff:1", badDiff)

		for _, tc := range []struct {
			mode, ref string
			id        string
			d         v1.Hash
			cancel    bool
			noBlobs   bool
		}{
			{mode: "cut", ref: "leak/app:1", id: ids[1], d: ds[1]},
			{mode: "damaged", ref: "leak/app:1", id: ids[1], d: ds[1]},
			{mode: "oversized", ref: "leak/app:1", id: ids[1], d: ds[1]},
			{mode: "stall", ref: "leak/app:1", id: ids[1], d: ds[1], cancel: true},
			{mode: "stall", ref: "leak/app:1", id: ids[1], d: ds[1], cancel: true, noBlobs: true},
			{mode: "", ref: "leak/evil:1", id: evilIDs[1], d: evilDs[1]},
			{mode: "", ref: "leak/diff:1", id: ids[1], d: ds[1]},
			{mode: "", ref: "leak/app:1"},
		} {
			name := fmt.Sprintf("zstd=%v/%s/%s/noblobs=%v", zstd, tc.ref, tc.mode, tc.noBlobs)
			t.Run(name, func(t *testing.T) {
				mode.Store(tc.mode)
				before := pullGoroutines()
				var opts []StoreOption
				if tc.noBlobs {
					opts = append(opts, WithoutLayerBlobs())
				}
				s := newTestStore(t, opts...)
				tr := http.DefaultTransport.(*http.Transport).Clone()
				defer tr.CloseIdleConnections()
				loc, err := ParseLocation(reg.Host + "/" + tc.ref)
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				_, err = s.Pull(ctx, loc, Config{Transport: tr, Jobs: 3}, PullOptions{Progress: func(e Event) {
					if tc.cancel && e.Kind == EventBytes && e.Layer == 1 {
						cancel()
					}
				}})
				if tc.id == "" {
					if err != nil {
						t.Fatalf("pull: %v", err)
					}
				} else {
					if err == nil {
						t.Fatal("pull succeeded")
					}
					checkNothingOf(t, s, tc.id, tc.d)
				}
				tr.CloseIdleConnections()
				checkNoPullGoroutines(t, before)
			})
		}
	}
}
