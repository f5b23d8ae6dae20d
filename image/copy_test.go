package image

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/winlayer/winlayer/internal/registrytest"

	"github.com/winlayer/winlayer/image/imagetest"
)

// TestCopyChainKeepsDigests copies registry → oci → docker-archive →
// registry and checks that the manifest digest survives every hop.
func TestCopyChainKeepsDigests(t *testing.T) {
	ctx := context.Background()
	reg1 := registrytest.Distribution(t)
	reg2 := registrytest.InProcess(t)
	img := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(30, 3), false)
	want := manifestDigest(t, img)
	if _, err := Write(ctx, regLoc(t, reg1, "src/app:1"), img, regCfg(reg1), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := Config{Keychain: reg1.Keychain()}
	hops := []struct{ src, dst Location }{
		{regLoc(t, reg1, "src/app:1"), Location{Kind: KindOCI, Path: filepath.Join(dir, "layout"), Tag: "app"}},
		{Location{Kind: KindOCI, Path: filepath.Join(dir, "layout"), Tag: "app"}, Location{Kind: KindDockerArchive, Path: filepath.Join(dir, "app.tar"), Tag: "example.com/app:1"}},
		{Location{Kind: KindDockerArchive, Path: filepath.Join(dir, "app.tar")}, regLoc(t, reg2, "dst/app:1")},
		{regLoc(t, reg2, "dst/app:1"), regLoc(t, reg1, "mirror/app:1")},
	}
	for _, h := range hops {
		res, err := Copy(ctx, h.src, h.dst, cfg, CopyOptions{})
		if err != nil {
			t.Fatalf("%s → %s: %v", h.src, h.dst, err)
		}
		if res.Digest != want.String() {
			t.Errorf("%s → %s: digest %s, want %s", h.src, h.dst, res.Digest, want)
		}
	}
	got, err := remote.Image(reg1.Ref(t, "mirror/app:1"), remote.WithAuthFromKeychain(reg1.Keychain()))
	if err != nil {
		t.Fatal(err)
	}
	if d := manifestDigest(t, got); d != want {
		t.Errorf("end of the chain: %s, want %s", d, want)
	}
	if err := checkImage(t, got); err != nil {
		t.Error(err)
	}
}

// TestCopyAllPlatforms copies a whole index between every pair of
// registry and OCI layout, and checks that a docker-archive refuses it.
func TestCopyAllPlatforms(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.InProcess(t)
	idx := testIndex(t,
		testImage(t, "windows", "amd64", "10.0.17763.1", testLayerTars(31, 2), false),
		testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(32, 2), false))
	want := manifestDigest(t, idx)
	if _, err := Write(ctx, regLoc(t, reg, "idx:1"), idx, Config{}, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	oci := Location{Kind: KindOCI, Path: filepath.Join(dir, "l"), Tag: "multi"}
	for _, h := range []struct{ src, dst Location }{
		{regLoc(t, reg, "idx:1"), oci},
		{oci, regLoc(t, reg, "idx2:1")},
		{regLoc(t, reg, "idx2:1"), regLoc(t, reg, "idx3:1")},
		{oci, Location{Kind: KindOCI, Path: filepath.Join(dir, "l2")}},
	} {
		res, err := Copy(ctx, h.src, h.dst, Config{}, CopyOptions{AllPlatforms: true})
		if err != nil {
			t.Fatalf("%s → %s: %v", h.src, h.dst, err)
		}
		if res.Digest != want.String() {
			t.Errorf("%s → %s: digest %s, want %s", h.src, h.dst, res.Digest, want)
		}
	}
	got, err := remote.Index(reg.Ref(t, "idx3:1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := checkIndex(t, got); err != nil {
		t.Error(err)
	}
	_, err = Copy(ctx, oci, Location{Kind: KindDockerArchive, Path: filepath.Join(dir, "x.tar")}, Config{}, CopyOptions{AllPlatforms: true})
	if !errors.Is(err, ErrIndexToArchive) {
		t.Errorf("index to docker-archive: got %v, want ErrIndexToArchive", err)
	}
	// Without --all-platforms one image is chosen by platform.
	p, err := ParsePlatform("windows/amd64:10.0.17763")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Copy(ctx, oci, regLoc(t, reg, "one:1"), Config{}, CopyOptions{Platform: p, Explicit: true})
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	if res.Digest != im.Manifests[0].Digest.String() {
		t.Errorf("platform copy: %s, want %s", res.Digest, im.Manifests[0].Digest)
	}
}

// ociGzipImage is a Windows image with OCI media types and gzip layers.
func ociGzipImage(t testing.TB, tars [][]byte) v1.Image {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for _, tb := range tars {
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(tb)), nil }, tarball.WithMediaType(types.OCILayer))
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	img = imagetest.WithPlatform(t, img, "windows", "amd64", "10.0.20348.1")
	return img
}

// TestCopySkopeoArchives checks both directions against skopeo: an archive
// skopeo made from our layout copies back with the same config and layers,
// and an archive we wrote is read by skopeo.
func TestCopySkopeoArchives(t *testing.T) {
	skopeo, err := exec.LookPath("skopeo")
	if err != nil {
		t.Skip("skopeo is not installed (apt-get install skopeo; .ci/run installs it)")
	}
	ctx := context.Background()
	dir := t.TempDir()
	// skopeo's oci: transport only sees OCI media types in index.json.
	img := ociGzipImage(t, testLayerTars(33, 2))
	want := manifestDigest(t, img)
	layoutDir := filepath.Join(dir, "layout")
	if _, err := Write(ctx, Location{Kind: KindOCI, Path: layoutDir, Tag: "app"}, img, Config{}, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(skopeo, append([]string{"--insecure-policy"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("skopeo %v: %v\n%s", args, err, out)
		}
	}
	// skopeo's archive → our copy.
	skArchive := filepath.Join(dir, "skopeo.tar")
	run("copy", "oci:"+layoutDir+":app", "docker-archive:"+skArchive+":example.com/app:1")
	res, err := Copy(ctx, Location{Kind: KindDockerArchive, Path: skArchive}, Location{Kind: KindOCI, Path: filepath.Join(dir, "back")}, Config{}, CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	src, err := Open(ctx, Location{Kind: KindOCI, Path: filepath.Join(dir, "back")}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if src.Image == nil {
		t.Fatal("copied back: no single image")
	}
	if err := checkImage(t, src.Image); err != nil {
		t.Error(err)
	}
	gc, _ := src.Image.ConfigName()
	wc, _ := img.ConfigName()
	if gc != wc {
		t.Errorf("config from skopeo's archive %s, want %s", gc, wc)
	}
	gd, _ := src.Image.ConfigFile()
	wd, _ := img.ConfigFile()
	if len(gd.RootFS.DiffIDs) != len(wd.RootFS.DiffIDs) {
		t.Fatalf("skopeo's archive: %d layers, want %d", len(gd.RootFS.DiffIDs), len(wd.RootFS.DiffIDs))
	}
	for i := range wd.RootFS.DiffIDs {
		if gd.RootFS.DiffIDs[i] != wd.RootFS.DiffIDs[i] {
			t.Errorf("layer %d: DiffID %s, want %s", i, gd.RootFS.DiffIDs[i], wd.RootFS.DiffIDs[i])
		}
	}
	t.Logf("skopeo archive copied back as %s (original %s)", res.Digest, want)

	// Our archive → skopeo → OCI layout: same config, same DiffIDs.
	ours := filepath.Join(dir, "ours.tar")
	if _, err := Write(ctx, Location{Kind: KindDockerArchive, Path: ours, Tag: "example.com/app:2"}, img, Config{}, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	run("copy", "docker-archive:"+ours, "oci:"+filepath.Join(dir, "fromours")+":x")
	src, err = Open(ctx, Location{Kind: KindOCI, Path: filepath.Join(dir, "fromours"), Tag: "x"}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := checkImage(t, src.Image); err != nil {
		t.Error(err)
	}
	// skopeo re-serialises the config and recompresses layers on this
	// path, so what must match is the content: DiffIDs and platform.
	gd, _ = src.Image.ConfigFile()
	if len(gd.RootFS.DiffIDs) != len(wd.RootFS.DiffIDs) {
		t.Fatalf("skopeo read %d layers from our archive, want %d", len(gd.RootFS.DiffIDs), len(wd.RootFS.DiffIDs))
	}
	for i := range wd.RootFS.DiffIDs {
		if gd.RootFS.DiffIDs[i] != wd.RootFS.DiffIDs[i] {
			t.Errorf("skopeo from our archive: layer %d: DiffID %s, want %s", i, gd.RootFS.DiffIDs[i], wd.RootFS.DiffIDs[i])
		}
	}
	if gd.OS != "windows" || gd.OSVersion != wd.OSVersion {
		t.Errorf("skopeo from our archive: platform %s %s", gd.OS, gd.OSVersion)
	}
}
