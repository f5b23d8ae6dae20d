package image

import (
	"archive/tar"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/winlayer/winlayer/internal/registrytest"
	"github.com/winlayer/winlayer/layer"
	"github.com/winlayer/winlayer/layer/layertest"
)

// TestPullHardLinkIntoParent: a layer whose hard link targets a file of
// its parent layer cannot be imported before the parent commits; the pull
// waits for the parent and reads the layer again.
func TestPullHardLinkIntoParent(t *testing.T) {
	base := layertest.Tar(layertest.Dir("Files"),
		layertest.File("Files/big.bin", layertest.Bytes(1, 6<<20)),
		layertest.File("Files/target.txt", []byte("shared by a hard link")))
	top := layertest.Tar(layertest.Dir("Files"),
		layertest.Entry{Name: "Files/link.txt", Type: tar.TypeLink, Link: "Files/target.txt"})
	img := testImage(t, "windows", "amd64", "10.0.20348.1", [][]byte{base, top}, false)
	ds, _ := layerDigests(t, img)
	// The base arrives late, so the top layer meets its link first.
	reg := registrytest.InProcess(t, blobWrap(ds[0], func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		time.Sleep(300 * time.Millisecond)
		next.ServeHTTP(w, r)
	}))
	ref := pushTest(t, reg.Host, "link/app:1", img)
	s := newTestStore(t)
	var topStarts atomic.Int32
	r := pullOne(t, s, ref.String(), PullOptions{Progress: func(e Event) {
		if e.Kind == EventStart && e.Layer == 1 {
			topStarts.Add(1)
		}
	}})
	checkExports(t, s, img, r)
	if r.Fetched != 2 {
		t.Errorf("fetched %d layers, want 2", r.Fetched)
	}
	if topStarts.Load() != 2 {
		t.Errorf("the top layer started %d times, want 2 (a first try before its parent, a second after)", topStarts.Load())
	}
}

// TestPullDanglingHardLinkReadOnce: a layer whose hard link names a file
// that neither it nor its parents have fails the pull; when every parent
// was in the store before the layer started, waiting for the parents
// cannot help, and the blob is not downloaded a second time.
func TestPullDanglingHardLinkReadOnce(t *testing.T) {
	base := layertest.Tar(layertest.Dir("Files"), layertest.File("Files/target.txt", []byte("x")))
	top := layertest.Tar(layertest.Dir("Files"),
		layertest.Entry{Name: "Files/link.txt", Type: tar.TypeLink, Link: "Files/nowhere.txt"})
	baseImg := testImage(t, "windows", "amd64", "10.0.20348.1", [][]byte{base}, false)
	img := testImage(t, "windows", "amd64", "10.0.20348.1", [][]byte{base, top}, false)
	ds, _ := layerDigests(t, img)
	var gets atomic.Int32
	reg := registrytest.InProcess(t, blobWrap(ds[1], func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		gets.Add(1)
		next.ServeHTTP(w, r)
	}))
	pushTest(t, reg.Host, "dangling/base:1", baseImg)
	ref := pushTest(t, reg.Host, "dangling/app:1", img)
	s := newTestStore(t)
	pullOne(t, s, reg.Host+"/dangling/base:1", PullOptions{})
	gets.Store(0)
	err := pullErr(s, ref.String(), Config{})
	if !errors.Is(err, layer.ErrInvalidEntry) || !strings.Contains(err.Error(), "layer 2 of 2") {
		t.Fatalf("pull of a dangling hard link: %v, want ErrInvalidEntry naming layer 2", err)
	}
	if n := gets.Load(); n != 1 {
		t.Errorf("the layer's blob was downloaded %d times, want once (its parent was in the store from the start)", n)
	}
}
