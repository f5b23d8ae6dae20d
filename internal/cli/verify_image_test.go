package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/winlayer/winlayer/image"
	"github.com/winlayer/winlayer/image/imagetest"
	"github.com/winlayer/winlayer/internal/registrytest"
	"github.com/winlayer/winlayer/layer"
)

func TestIsImageArg(t *testing.T) {
	for _, c := range []struct {
		arg  string
		want bool
	}{
		{filepath.Join(testdata, "sample.tar"), false},
		{"missing.tar", false},
		{"some/dir/layer.tar", false},
		{"oci:" + filepath.Join(testdata, "image"), true},
		{"oci:x:tag", true},
		{"docker-archive:/tmp/a.tar", true},
		{"docker://alpine", true},
		{"127.0.0.1:5000/app:1", true},
		{"localhost/app", true},
		{"registry.example.com/app@sha256:" + strings.Repeat("a", 64), true},
	} {
		if got := isImageArg(c.arg); got != c.want {
			t.Errorf("isImageArg(%q) = %v, want %v", c.arg, got, c.want)
		}
	}
}

// TestVerifySample runs the README's main command: the sample layer tars
// and the sample image, both platforms.
func TestVerifySample(t *testing.T) {
	s, err := imagetest.NewSample()
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, nil, "verify", filepath.Join(testdata, "sample.tar"), filepath.Join(testdata, "sample.rebuilt.tar"),
		"oci:"+filepath.Join(testdata, "image"))
	if code != 0 {
		t.Fatalf("verify: %d\n%s\n%s", code, out, errOut)
	}
	for _, img := range s.Images {
		line := ""
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, img.Platform.OSVersion) && strings.Contains(l, img.ManifestDigest.String()) && strings.HasPrefix(l, "oci:") {
				line = l
			}
		}
		if f := strings.Fields(line); len(f) != 7 || f[3] != "same" || f[4] != "same" || f[5] != "2/2" || f[6] != "match" {
			t.Errorf("%s: verdict line %q, want pulled and saved the same, 2/2 layers, match", img.Platform.OSVersion, line)
		}
		for _, id := range img.ChainIDs() {
			if !strings.Contains(out, id.Hex) {
				t.Errorf("%s: layer %s not listed", img.Platform.OSVersion, id.Hex)
			}
		}
	}
	for _, want := range []string{"image inspect", "all 2 layers round-trip", "all 2 images keep their manifest digest"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "DIFFERENT") {
		t.Errorf("a difference:\n%s", out)
	}
}

func TestVerifyImageFromRegistry(t *testing.T) {
	s, err := imagetest.NewSample()
	if err != nil {
		t.Fatal(err)
	}
	reg := registrytest.InProcess(t)
	src, err := image.ParseLocation("oci:" + filepath.Join(testdata, "image"))
	if err != nil {
		t.Fatal(err)
	}
	ref := reg.Host + "/winlayer/sample:1"
	dst, err := image.ParseLocation(ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := image.Copy(context.Background(), src, dst, image.Config{}, image.CopyOptions{AllPlatforms: true}); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, nil, "verify", "--platform", "windows/amd64:10.0.20348", ref)
	if code != 0 {
		t.Fatalf("verify: %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, s.Images[1].ManifestDigest.String()) || strings.Contains(out, s.Images[0].ManifestDigest.String()) {
		t.Errorf("--platform 10.0.20348 should verify the 2022 image alone:\n%s", out)
	}
	if _, errOut, code := run(t, nil, "verify", "--platform", "linux/amd64", ref); code != 2 || !strings.Contains(errOut, "linux") {
		t.Errorf("verify --platform linux/amd64: %d %q, want a usage error", code, errOut)
	}
	if _, errOut, code := run(t, nil, "verify", "--platform", "windows/amd64", filepath.Join(testdata, "sample.tar")); code != 2 {
		t.Errorf("verify --platform without an image: %d %q, want a usage error", code, errOut)
	}
}

// TestVerifyImageDetectsChange checks that verify's comparison can fail:
// a store that drops the compressed blobs saves recompressed layers, and
// the saved manifest is no longer the source's.
func TestVerifyImageDetectsChange(t *testing.T) {
	ls, err := layer.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st := image.OpenStore(ls, image.WithoutLayerBlobs())
	o := &options{stdout: &strings.Builder{}, stderr: &strings.Builder{}}
	checks, err := verifyImage(context.Background(), o, st, t.TempDir(), "oci:"+filepath.Join(testdata, "image"), []string{"windows/amd64:10.0.17763"})
	if err != nil {
		t.Fatal(err)
	}
	if len(checks) != 1 {
		t.Fatalf("%d checks, want 1", len(checks))
	}
	c := checks[0]
	if len(c.problems) == 0 || c.savedDigest == c.sourceDigest {
		t.Fatalf("recompressed layers went unnoticed: saved %s, source %s, problems %q", c.savedDigest, c.sourceDigest, c.problems)
	}
	if c.pulledDigest != c.sourceDigest || c.layersOK != 2 {
		t.Errorf("pulled %s (source %s), %d/2 layers = DiffID", c.pulledDigest, c.sourceDigest, c.layersOK)
	}
}

func TestVerifyImageRefusesBadSource(t *testing.T) {
	_, errOut, code := run(t, nil, "verify", "oci:"+filepath.Join(t.TempDir(), "nothing"))
	if code != 1 || !strings.Contains(errOut, "nothing") {
		t.Errorf("verify of a missing layout: %d %q", code, errOut)
	}
}

func TestVerifyDockerArchive(t *testing.T) {
	src, err := image.ParseLocation("oci:" + filepath.Join(testdata, "image"))
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "sample.tar")
	p, err := image.ParsePlatform("windows/amd64:10.0.17763")
	if err != nil {
		t.Fatal(err)
	}
	dst := image.Location{Kind: image.KindDockerArchive, Path: archive, Tag: "winlayer/sample:1"}
	if _, err := image.Copy(context.Background(), src, dst, image.Config{}, image.CopyOptions{Platform: p, Explicit: true}); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, nil, "verify", "docker-archive:"+archive)
	if code != 0 || !strings.Contains(out, "all 1 images keep") || !strings.Contains(out, "10.0.17763.5329") {
		t.Fatalf("verify docker-archive: %d\n%s\n%s", code, out, errOut)
	}
}
