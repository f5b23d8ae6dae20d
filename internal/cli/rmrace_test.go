package cli

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/winlayer/winlayer/image"
	"github.com/winlayer/winlayer/layer"
)

// TestRmLayerRacesPull: 'winlayer rm' of a layer no image uses yet, while
// a pull that found it present records its image. The check (no image
// uses it) and the removal happen under the image index's lock, so the
// pull's record comes after the removal and fails ("removed while the
// pull ran"): the store never holds an image whose layer is gone.
func TestRmLayerRacesPull(t *testing.T) {
	ctx := context.Background()
	sample, err := image.ParseLocation("oci:" + filepath.Join(testdata, "image") + ":latest")
	if err != nil {
		t.Fatal(err)
	}
	pullOpts := image.PullOptions{Platform: image.Platform{OSVersion: "10.0.20348"}, Explicit: true}
	// The sample's layers, as tars, from a first store.
	ls1, err := layer.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rs, err := image.OpenStore(ls1).Pull(ctx, sample, image.Config{}, pullOpts)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{rs[0].Layers[0].ID, rs[0].Layers[1].ID}
	// A second store has them imported by hand, under their ChainIDs.
	ls2, err := layer.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		rc, err := ls1.Export(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var parents []string
		if i > 0 {
			parents = []string{ls2.Dir(ids[0])}
		}
		_, err = ls2.Import(ctx, id, parents, rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	pulled := make(chan error, 1)
	afterUsersCheck = func() {
		// The pull finds both layers present and records the image (or
		// waits for the index lock to do so).
		go func() {
			ls, err := layer.Open(ls2.Home()) // as another process would
			if err == nil {
				_, err = image.OpenStore(ls).Pull(ctx, sample, image.Config{}, pullOpts)
			}
			pulled <- err
		}()
		select {
		case err := <-pulled:
			pulled <- err
		case <-time.After(500 * time.Millisecond):
		}
	}
	t.Cleanup(func() { afterUsersCheck = nil })
	o := &options{stdin: os.Stdin, stdout: io.Discard, stderr: io.Discard}
	if err := removeLayers(ctx, o, ls2, []string{ids[1]}, false); err != nil {
		t.Fatalf("rm %s: %v", ids[1], err)
	}
	afterUsersCheck = nil
	perr := <-pulled
	imgs, err := image.OpenStore(ls2).Images()
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range imgs {
		for _, l := range img.Layers {
			if !ls2.Exists(l.ID) {
				t.Errorf("image %s recorded (pull: %v) but its layer %s was removed", img.ManifestDigest, perr, l.ID)
			}
		}
	}
	if perr == nil && len(imgs) == 0 {
		t.Error("the pull succeeded but recorded no image")
	}
}
