package image

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
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
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/winlayer/winlayer/internal/registrytest"
	"github.com/winlayer/winlayer/layer"
	"github.com/winlayer/winlayer/layer/layertest"
	"github.com/winlayer/winlayer/wintar"
)

// blobWrap wraps a registry handler: requests for the blob of digest d
// go to fn, the rest to the registry.
func blobWrap(d v1.Hash, fn func(w http.ResponseWriter, r *http.Request, next http.Handler)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+d.String()) {
				fn(w, r, next)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// cutWriter passes the first n bytes of a response, then aborts the
// connection (the client sees the body end early).
type cutWriter struct {
	http.ResponseWriter
	n int
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if len(p) > c.n {
		c.ResponseWriter.Write(p[:c.n])
		c.ResponseWriter.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	c.n -= len(p)
	return c.ResponseWriter.Write(p)
}

// layerDigests returns the layer digests and ChainIDs of img.
func layerDigests(t testing.TB, img v1.Image) ([]v1.Hash, []string) {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	var ds []v1.Hash
	for _, l := range m.Layers {
		ds = append(ds, l.Digest)
	}
	var ids []string
	for _, c := range ChainIDs(cf.RootFS.DiffIDs) {
		ids = append(ids, c.Hex)
	}
	return ds, ids
}

// checkNothingOf checks that nothing of a failed layer stays: no layer
// directory, no blob, no staging directory, no temporary blob, and no image
// record.
func checkNothingOf(t testing.TB, s *Store, id string, d v1.Hash) {
	t.Helper()
	if s.layers.Exists(id) {
		t.Errorf("layer %s exists after its failed pull", id)
	}
	if s.hasBlob(d) {
		t.Errorf("blob %s kept after its failed pull", d)
	}
	for _, dir := range []string{filepath.Join(s.home, ".staging"), filepath.Join(s.home, blobsDir, "tmp")} {
		des, _ := os.ReadDir(dir)
		for _, de := range des {
			t.Errorf("%s left in %s", de.Name(), dir)
		}
	}
	imgs, err := s.Images()
	if err != nil || len(imgs) != 0 {
		t.Errorf("images after a failed pull: %d (%v)", len(imgs), err)
	}
}

func pullErr(s *Store, ref string, cfg Config) error {
	loc, err := ParseLocation(ref)
	if err != nil {
		return err
	}
	_, err = s.Pull(context.Background(), loc, cfg, PullOptions{})
	return err
}

// TestPullCutBlob: a registry that cuts a blob mid-way fails the pull
// cleanly, naming the layer; nothing of that layer stays; a retry completes.
func TestPullCutBlob(t *testing.T) {
	img := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(11, 3), false)
	ds, ids := layerDigests(t, img)
	var cut atomic.Bool
	cut.Store(true)
	reg := registrytest.InProcess(t, blobWrap(ds[1], func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if cut.Swap(false) {
			next.ServeHTTP(&cutWriter{ResponseWriter: w, n: 1500}, r)
			return
		}
		next.ServeHTTP(w, r)
	}))
	ref := reg.Host + "/cut/app:1"
	pushTest(t, reg.Host, "cut/app:1", img)
	cut.Store(true)
	s := newTestStore(t)
	err := pullErr(s, ref, Config{})
	if err == nil {
		t.Fatal("pull of a cut blob succeeded")
	}
	if !strings.Contains(err.Error(), "layer 2 of 3") || !strings.Contains(err.Error(), ds[1].String()) {
		t.Errorf("error does not name the layer: %v", err)
	}
	checkNothingOf(t, s, ids[1], ds[1])
	// The retry completes.
	r := pullOne(t, s, ref, PullOptions{})
	checkExports(t, s, img, r)
}

// TestPullWrongDigest: a blob that decompresses to the right tar but is
// not the blob the manifest names is refused before the layer commits.
func TestPullWrongDigest(t *testing.T) {
	tars := testLayerTars(12, 2)
	img := testImage(t, "windows", "amd64", "10.0.20348.1", tars, false)
	ds, ids := layerDigests(t, img)
	var other bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&other, gzip.BestCompression)
	zw.Write(tars[1])
	zw.Close()
	reg := registrytest.InProcess(t, blobWrap(ds[1], func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		w.Header().Set("Content-Length", fmt.Sprint(other.Len()))
		w.Write(other.Bytes())
	}))
	pushTest(t, reg.Host, "dg/app:1", img)
	s := newTestStore(t)
	err := pullErr(s, reg.Host+"/dg/app:1", Config{})
	if !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("pull: %v, want ErrDigestMismatch", err)
	}
	checkNothingOf(t, s, ids[1], ds[1])
}

// TestPullWrongDiffID: a config whose diff_id does not match the layer is
// refused before the layer commits.
func TestPullWrongDiffID(t *testing.T) {
	img := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(13, 2), false)
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.RootFS.DiffIDs[1] = sha256Of([]byte("not the layer"))
	img, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	ds, ids := layerDigests(t, img)
	host := testRegistry(t)
	pushTest(t, host, "diff/app:1", img)
	s := newTestStore(t)
	err = pullErr(s, host+"/diff/app:1", Config{})
	if !errors.Is(err, ErrDiffIDMismatch) {
		t.Fatalf("pull: %v, want ErrDiffIDMismatch", err)
	}
	checkNothingOf(t, s, ids[1], ds[1])
	if !s.layers.Exists(ids[0]) {
		t.Errorf("the good base layer was not kept")
	}
}

// TestPullConcurrent: two pulls of the same image into one store at once
// both succeed, with one record and each layer once.
func TestPullConcurrent(t *testing.T) {
	img := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(14, 4), false)
	host := testRegistry(t)
	ref := pushTest(t, host, "conc/app:1", img)
	home := t.TempDir()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ls, err := layer.Open(home) // as two processes would
			if err != nil {
				errs[i] = err
				return
			}
			errs[i] = pullErr(OpenStore(ls), ref.String(), Config{Jobs: 4})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("pull %d: %v", i, err)
		}
	}
	ls, _ := layer.Open(home)
	s := OpenStore(ls)
	imgs, err := s.Images()
	if err != nil || len(imgs) != 1 {
		t.Fatalf("%d images (%v)", len(imgs), err)
	}
	r := &PullResult{ImageInfo: imgs[0]}
	checkExports(t, s, img, r)
}

// TestPullCancel: cancelling a pull stalled in a blob returns within a
// second; the layers completed stay and the next pull reuses them.
func TestPullCancel(t *testing.T) {
	img := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(15, 3), false)
	ds, _ := layerDigests(t, img)
	var stall atomic.Bool
	reg := registrytest.InProcess(t, blobWrap(ds[2], func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if !stall.Load() {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Length", "100000")
		w.Write(make([]byte, 10)) // a gzip header would follow…
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	pushTest(t, reg.Host, "cancel/app:1", img)
	stall.Store(true)
	s := newTestStore(t)
	loc, _ := ParseLocation(reg.Host + "/cancel/app:1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var done atomic.Int32
	started := make(chan struct{}, 8)
	errc := make(chan error, 1)
	go func() {
		_, err := s.Pull(ctx, loc, Config{}, PullOptions{Progress: func(e Event) {
			if e.Kind == EventDone {
				done.Add(1)
			}
			if e.Kind == EventStart && e.Layer == 2 {
				started <- struct{}{}
			}
		}})
		errc <- err
	}()
	<-started
	deadline := time.Now().Add(10 * time.Second)
	for done.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	t0 := time.Now()
	cancel()
	var err error
	select {
	case err = <-errc:
	case <-time.After(5 * time.Second):
		t.Fatal("pull still running 5 s after cancel")
	}
	if el := time.Since(t0); el > time.Second {
		t.Errorf("pull took %v to stop after cancel", el)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled pull: %v, want context.Canceled", err)
	}
	if imgs, _ := s.Images(); len(imgs) != 0 {
		t.Errorf("image recorded by a cancelled pull")
	}
	stall.Store(false)
	r := pullOne(t, s, reg.Host+"/cancel/app:1", PullOptions{})
	if r.Skipped != 2 || r.Fetched != 1 {
		t.Errorf("pull after cancel: fetched %d, skipped %d; want 1 and 2", r.Fetched, r.Skipped)
	}
	checkExports(t, s, img, r)
}

// TestPullHostileLayer: a layer whose tar names a path outside the layer
// is refused by the store; nothing of it stays, nothing is written
// outside the store.
func TestPullHostileLayer(t *testing.T) {
	evil := layertest.Tar(layertest.Dir("Files"), layertest.File("Files/../../evil.txt", []byte("x")))
	img := testImage(t, "windows", "amd64", "10.0.20348.1", [][]byte{testLayerTars(16, 1)[0], evil}, false)
	ds, ids := layerDigests(t, img)
	host := testRegistry(t)
	pushTest(t, host, "evil/app:1", img)
	s := newTestStore(t)
	err := pullErr(s, host+"/evil/app:1", Config{})
	if !errors.Is(err, wintar.ErrUnsafeName) || !strings.Contains(err.Error(), "layer 2 of 2") {
		t.Fatalf("pull of a hostile layer: %v, want wintar.ErrUnsafeName naming layer 2", err)
	}
	checkNothingOf(t, s, ids[1], ds[1])
	if _, err := os.Stat(filepath.Join(filepath.Dir(s.home), "evil.txt")); err == nil {
		t.Error("evil.txt written outside the store")
	}
}

// TestPullImpostorLayer: a store layer that has an image layer's ChainID
// as its id but other content is not taken for it.
func TestPullImpostorLayer(t *testing.T) {
	img := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(18, 2), false)
	_, ids := layerDigests(t, img)
	host := testRegistry(t)
	pushTest(t, host, "impostor/app:1", img)
	s := newTestStore(t)
	other := layertest.Tar(layertest.Dir("Files"), layertest.File("Files/other.txt", []byte("not the layer")))
	if _, err := s.layers.Import(context.Background(), ids[0], nil, bytes.NewReader(other)); err != nil {
		t.Fatal(err)
	}
	err := pullErr(s, host+"/impostor/app:1", Config{})
	if !errors.Is(err, ErrDiffIDMismatch) || !strings.Contains(err.Error(), "layer 1 of 2") {
		t.Fatalf("pull over an impostor layer: %v, want ErrDiffIDMismatch naming layer 1", err)
	}
	if imgs, _ := s.Images(); len(imgs) != 0 {
		t.Errorf("image recorded over an impostor layer")
	}
}

// TestPullOversizedBlob: a registry that sends more than the blob's size
// (here the blob followed by junk) is refused after one byte past the size.
func TestPullOversizedBlob(t *testing.T) {
	img := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(19, 2), false)
	ds, ids := layerDigests(t, img)
	l, _ := img.LayerByDigest(ds[1])
	rc, _ := l.Compressed()
	blob, _ := io.ReadAll(rc)
	junk := append(append([]byte{}, blob...), bytes.Repeat([]byte{0}, 1<<20)...)
	reg := registrytest.InProcess(t, blobWrap(ds[1], func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		w.Header().Set("Content-Length", fmt.Sprint(len(junk)))
		w.Write(junk)
	}))
	pushTest(t, reg.Host, "big/app:1", img)
	s := newTestStore(t)
	err := pullErr(s, reg.Host+"/big/app:1", Config{})
	if !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), "more than the") {
		t.Fatalf("pull of an oversized blob: %v, want ErrDigestMismatch on the size", err)
	}
	checkNothingOf(t, s, ids[1], ds[1])
}
