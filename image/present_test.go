package image

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/winlayer/winlayer/layer"
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
