package image

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/winlayer/winlayer/internal/registrytest"
)

// cutUploads cuts the first n blob uploads mid-way: half the body is read,
// then the connection is dropped.
func cutUploads(n int32) func(http.Handler) http.Handler {
	var left atomic.Int32
	left.Store(n)
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/blobs/uploads/") && (r.Method == http.MethodPatch || r.Method == http.MethodPut) &&
				r.ContentLength > 1000 && left.Add(-1) >= 0 {
				_, _ = io.CopyN(io.Discard, r.Body, r.ContentLength/2)
				if hj, ok := w.(http.Hijacker); ok {
					if c, _, err := hj.Hijack(); err == nil {
						c.Close()
						return
					}
				}
				panic(http.ErrAbortHandler)
			}
			h.ServeHTTP(w, r)
		})
	}
}

// TestWriteRegistryCutUpload: a registry that drops an upload half-way.
// The push either recovers by itself (go-containerregistry retries) or
// fails with an error naming the layer; a second push completes, and what
// the registry holds is intact.
func TestWriteRegistryCutUpload(t *testing.T) {
	r := registrytest.InProcess(t, cutUploads(1))
	img := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(50, 2), false)
	want := manifestDigest(t, img)
	ctx := context.Background()
	res, err := Write(ctx, regLoc(t, r, "cut:1"), img, Config{}, WriteOptions{})
	if err != nil {
		t.Logf("first push failed: %v", err)
		if !strings.Contains(err.Error(), "sha256:") {
			t.Errorf("the error names no layer: %v", err)
		}
		if res, err = Write(ctx, regLoc(t, r, "cut:1"), img, Config{}, WriteOptions{}); err != nil {
			t.Fatalf("second push: %v", err)
		}
	}
	if res.Digest != want.String() {
		t.Errorf("digest %s, want %s", res.Digest, want)
	}
	got, err := remote.Image(r.Ref(t, "cut:1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := checkImage(t, got); err != nil {
		t.Error(err)
	}
}

// TestWriteRegistryUploadsAlwaysCut: a registry that cuts every upload:
// the push fails (after go-containerregistry's retries) with an error that
// names the layer being sent.
func TestWriteRegistryUploadsAlwaysCut(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: go-containerregistry's retries take 4 seconds")
	}
	r := registrytest.InProcess(t, cutUploads(1000))
	img := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(55, 1), false)
	_, err := Write(context.Background(), regLoc(t, r, "cut:1"), img, Config{}, WriteOptions{})
	if err == nil {
		t.Fatal("push through a registry that cuts every upload succeeded")
	}
	l := mustLayers(t, img)[0]
	d, _ := l.Digest()
	if !strings.Contains(err.Error(), "sending layer "+d.String()) {
		t.Errorf("error does not name layer %s: %v", d, err)
	}
}

// TestWriteRegistryConcurrentUploads checks that layers upload at once
// (cfg.Jobs) rather than one after the other.
func TestWriteRegistryConcurrentUploads(t *testing.T) {
	var inFlight, peak atomic.Int32
	slow := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/blobs/uploads/") && r.Method != http.MethodPost {
				n := inFlight.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				time.Sleep(150 * time.Millisecond)
				defer inFlight.Add(-1)
			}
			h.ServeHTTP(w, r)
		})
	}
	r := registrytest.InProcess(t, slow)
	img := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(51, 4), false)
	if _, err := Write(context.Background(), regLoc(t, r, "par:1"), img, Config{Jobs: 3}, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if p := peak.Load(); p < 2 || p > 3 {
		t.Errorf("at most %d uploads ran at once, want 2 or 3 (Jobs 3)", p)
	}
}

// TestWriteForeignInProcess: the zstd non-distributable media type, which
// go-containerregistry does not know as such, is not uploaded either, and
// an OCI layout leaves foreign blobs out unless IncludeForeign.
func TestWriteForeignInProcess(t *testing.T) {
	ctx := context.Background()
	r := registrytest.InProcess(t)
	img := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(52, 1), true)
	img, fl := appendForeign(t, img, zstdNondistributable, "http://127.0.0.1:9/base")
	fd, _ := fl.Digest()
	res, err := Write(ctx, regLoc(t, r, "f:1"), img, Config{}, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest != manifestDigest(t, img).String() {
		t.Errorf("digest %s, want the source's", res.Digest)
	}
	if st := blobStatus(t, r, "f", fd.String()); st != http.StatusNotFound {
		t.Errorf("foreign zstd blob: HEAD %d, want 404 (not uploaded)", st)
	}

	dir := filepath.Join(t.TempDir(), "l")
	if _, err := Write(ctx, Location{Kind: KindOCI, Path: dir}, img, Config{}, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(blobPath(dir, fd)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("foreign blob in the layout: %v, want it left out", err)
	}
	dir2 := filepath.Join(t.TempDir(), "l2")
	res, err = Write(ctx, Location{Kind: KindOCI, Path: dir2}, img, Config{}, WriteOptions{IncludeForeign: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(blobPath(dir2, fd)); err != nil {
		t.Errorf("foreign blob with IncludeForeign: %v", err)
	}
	if res.Digest != res.SourceDigest {
		t.Errorf("IncludeForeign into a layout changed the digest (%s from %s); the descriptors should be kept", res.Digest, res.SourceDigest)
	}
	for _, b := range res.Blobs {
		if b.Digest == fd.String() && b.Action != ActionCopied {
			t.Errorf("foreign blob with IncludeForeign: %s, want %s", b.Action, ActionCopied)
		}
	}
}

// TestWriteLayoutCancelled: a cancelled write leaves no partial blob and an
// unchanged index.json.
func TestWriteLayoutCancelled(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "l")
	first := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(53, 1), false)
	if _, err := Write(context.Background(), Location{Kind: KindOCI, Path: dir, Tag: "a"}, first, Config{}, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "index.json"))
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	img := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(54, 3), false)
	_, err := Write(ctx, Location{Kind: KindOCI, Path: dir, Tag: "b"}, img, Config{Jobs: 1}, WriteOptions{
		Progress: func(e WriteEvent) {
			if e.Kind == WriteStart {
				once.Do(cancel)
			}
		},
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "index.json"))
	if string(after) != string(before) {
		t.Errorf("index.json changed:\n%s\nwas\n%s", after, before)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
	for _, l := range mustLayers(t, img) {
		d, _ := l.Digest()
		if _, err := os.Stat(blobPath(dir, d)); err == nil {
			t.Errorf("layer %s written although cancelled at the first", d)
		}
	}
}

func mustLayers(t *testing.T, img interface {
	Layers() ([]v1.Layer, error)
}) []v1.Layer {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

// TestWriteRegistryCancelled: a push cancelled while a registry is slow
// returns context.Canceled within a second.
func TestWriteRegistryCancelled(t *testing.T) {
	release := make(chan struct{})
	stall := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/blobs/uploads/") && r.Method != http.MethodPost {
				select {
				case <-release:
				case <-r.Context().Done():
					return
				}
			}
			h.ServeHTTP(w, r)
		})
	}
	r := registrytest.InProcess(t, stall)
	// Registered after the server's Close, so it runs before it.
	t.Cleanup(func() { close(release) })
	img := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(56, 2), false)
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	var cancelled time.Time
	_, err := Write(ctx, regLoc(t, r, "stall:1"), img, Config{}, WriteOptions{Progress: func(e WriteEvent) {
		if e.Kind == WriteStart {
			once.Do(func() {
				go func() {
					time.Sleep(100 * time.Millisecond)
					cancelled = time.Now()
					cancel()
				}()
			})
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if d := time.Since(cancelled); d > time.Second {
		t.Errorf("push returned %v after the cancel, want within a second", d)
	}
}
