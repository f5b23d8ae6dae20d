package image

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/winlayer/winlayer/internal/registrytest"
	"github.com/winlayer/winlayer/layer"
	"github.com/winlayer/winlayer/layer/layertest"
)

// TestPullRefusesUnverifiableLayer: a store layer that has an image
// layer's ChainID as its id but no DiffID to check it by — one made with
// Create (a writable layer, filled through a mounted view) or built with
// the Writer without a tar — is not taken for the image layer: its content
// is unknown, and an image recorded over it would export something else
// than its DiffID. The pull fails naming the layer, and records no image.
func TestPullRefusesUnverifiableLayer(t *testing.T) {
	img := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(41, 2), false)
	_, ids := layerDigests(t, img)
	host := testRegistry(t)
	pushTest(t, host, "unverified/app:1", img)
	for _, tc := range []struct {
		name string
		make func(ctx context.Context, ls *layer.Store, id string) error
	}{
		{"created", func(ctx context.Context, ls *layer.Store, id string) error { return ls.Create(ctx, id, nil) }},
		{"writer", func(ctx context.Context, ls *layer.Store, id string) error {
			w, err := ls.NewWriter(ctx, id, nil)
			if err != nil {
				return err
			}
			return w.Close()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStore(t)
			ctx := context.Background()
			if err := tc.make(ctx, s.layers, ids[0]); err != nil {
				t.Fatal(err)
			}
			if m, err := s.layers.Meta(ctx, ids[0]); err != nil || m.DiffID != "" {
				t.Fatalf("the layer made has DiffID %q (%v); the test needs none", m.DiffID, err)
			}
			err := pullErr(s, host+"/unverified/app:1", Config{})
			if !errors.Is(err, ErrDiffIDMismatch) || !strings.Contains(err.Error(), "layer 1 of 2") || !strings.Contains(err.Error(), ids[0]) {
				t.Fatalf("pull over a layer without DiffID: %v, want ErrDiffIDMismatch naming layer 1 and %s", err, ids[0])
			}
			if imgs, _ := s.Images(); len(imgs) != 0 {
				t.Errorf("image recorded over a layer without DiffID")
			}
		})
	}
}

// TestLoadImpostorLayerNamesDiffID: a docker-archive names no blob digest
// for its layers; a layer refused because the store has another one under
// its ChainID is named by its DiffID, as any other failed layer of a load
// ("layer 1 of 2 (diff_id sha256:…)"), not by an empty digest ("(:)").
func TestLoadImpostorLayerNamesDiffID(t *testing.T) {
	img := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(42, 2), false)
	_, ids := layerDigests(t, img)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	file := t.TempDir() + "/app.tar"
	writeArchive(t, file, img, "example.com/app:1")
	s := newTestStore(t)
	if err := s.layers.Create(context.Background(), ids[0], nil); err != nil {
		t.Fatal(err)
	}
	err = pullErr(s, "docker-archive:"+file, Config{})
	want := "layer 1 of 2 (diff_id " + cf.RootFS.DiffIDs[0].String() + ")"
	if !errors.Is(err, ErrDiffIDMismatch) || !strings.Contains(err.Error(), want) {
		t.Fatalf("load over an impostor layer: %v, want ErrDiffIDMismatch naming %q", err, want)
	}
}

// TestPullImpostorCommittedMeanwhile: another process commits a layer of
// other content under the ChainID while this pull downloads it. The
// import then finds the id taken; the pull fails saying why the layer
// there is not the image's (ErrDiffIDMismatch, as when it was there from
// the start), reads the blob only once, records no image.
func TestPullImpostorCommittedMeanwhile(t *testing.T) {
	img := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(43, 2), false)
	ds, ids := layerDigests(t, img)
	var gets atomic.Int32
	reg := registrytest.InProcess(t, blobWrap(ds[1], func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		gets.Add(1)
		next.ServeHTTP(w, r)
	}))
	pushTest(t, reg.Host, "meanwhile/app:1", img)
	gets.Store(0)
	other := layertest.Tar(layertest.Dir("Files"), layertest.File("Files/other.txt", []byte("not the layer")))
	for _, tc := range []struct {
		name string
		make func(ctx context.Context, ls *layer.Store, id string) error
	}{
		{"other DiffID", func(ctx context.Context, ls *layer.Store, id string) error {
			_, err := ls.Import(ctx, id, nil, bytes.NewReader(other))
			return err
		}},
		{"no DiffID", func(ctx context.Context, ls *layer.Store, id string) error { return ls.Create(ctx, id, nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gets.Store(0)
			s := newTestStore(t)
			setPullPoint(t, func(where, id string) {
				if where == "blob" && id == ids[1] {
					// Another process, as layer.Open would give it.
					ls, err := layer.Open(s.home)
					if err == nil {
						err = tc.make(context.Background(), ls, id)
					}
					if err != nil {
						t.Errorf("impostor: %v", err)
					}
				}
			})
			err := pullErr(s, reg.Host+"/meanwhile/app:1", Config{})
			if !errors.Is(err, ErrDiffIDMismatch) || !strings.Contains(err.Error(), "layer 2 of 2") {
				t.Errorf("pull over an impostor committed meanwhile: %v, want ErrDiffIDMismatch naming layer 2", err)
			}
			if n := gets.Load(); n != 1 {
				t.Errorf("the layer's blob was read %d times, want once", n)
			}
			if imgs, _ := s.Images(); len(imgs) != 0 {
				t.Errorf("image recorded over an impostor layer")
			}
		})
	}
}
