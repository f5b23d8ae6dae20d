package image

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/winlayer/winlayer/internal/registrytest"
)

// TestStorePushSaveKeepDigest pulls an image into the store from the real
// registry, pushes the stored image to another repository (same manifest
// digest, blobs mounted, nothing uploaded), saves it to an OCI layout and a
// docker-archive, and pulls those back into a second store: the same
// manifest digest each time.
func TestStorePushSaveKeepDigest(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.Distribution(t)
	var log requestLog
	regp := reg.Proxy(t, log.wrap)
	cfg := regCfg(regp)
	img := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(40, 3), false)
	want := manifestDigest(t, img)
	if _, err := Write(ctx, regLoc(t, regp, "src/app:1"), img, cfg, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	s := newTestStore(t)
	src := regLoc(t, regp, "src/app:1")
	if _, err := s.Pull(ctx, src, cfg, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	si, err := s.OpenImage(src.Ref.String(), CompressionGzip)
	if err != nil {
		t.Fatal(err)
	}
	if si.Recompressed {
		t.Fatal("a store that keeps blobs recompressed the image")
	}
	repo, err := name.NewRepository(si.Info.Repository)
	if err != nil {
		t.Fatalf("stored repository %q: %v", si.Info.Repository, err)
	}
	log.reset()
	res, err := Write(ctx, regLoc(t, regp, "dst/app:1"), si.Image, cfg, WriteOptions{MountFrom: &repo})
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest != want.String() {
		t.Errorf("push of the stored image: %s, want %s", res.Digest, want)
	}
	c := log.take()
	for _, b := range res.Blobs {
		if log.uploaded(b.Digest) {
			t.Errorf("push uploaded layer %s; it should have been mounted", b.Digest)
		}
	}
	if c["mount"] < 3 {
		t.Errorf("push to another repository: requests %v, want 3 mounts", c)
	}

	dir := t.TempDir()
	oci := Location{Kind: KindOCI, Path: filepath.Join(dir, "layout"), Tag: "app"}
	if res, err := Write(ctx, oci, si.Image, Config{}, WriteOptions{}); err != nil || res.Digest != want.String() {
		t.Fatalf("save to %s: %v, %+v", oci, err, res)
	}
	arch := Location{Kind: KindDockerArchive, Path: filepath.Join(dir, "app.tar"), Tag: "example.com/app:1"}
	if _, err := Write(ctx, arch, si.Image, Config{}, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, loc := range []Location{oci, arch} {
		s2 := newTestStore(t)
		rs, err := s2.Pull(ctx, loc, Config{}, PullOptions{})
		if err != nil {
			t.Fatalf("pull back %s: %v", loc, err)
		}
		if len(rs) != 1 || rs[0].ManifestDigest != want.String() {
			t.Errorf("pull back %s: %+v, want manifest %s", loc, rs, want)
		}
		checkExports(t, s2, img, rs[0])
	}
}
