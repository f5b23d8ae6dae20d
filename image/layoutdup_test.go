package image

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestCopyUnnamedIntoNamedLayout: copying an image without a TAG into a
// layout that names it (here the layout onto itself, as a user refreshing
// a mirror does) adds an unnamed entry of the same digest; oci:DIR then
// read as an index of the two entries, and the next copy --all-platforms
// wrote that index of duplicates under a new digest. The same manifest
// listed twice is one image: the copies keep its digest, and index.json
// gains nothing more than the one unnamed entry.
func TestCopyUnnamedIntoNamedLayout(t *testing.T) {
	img := testOCIImage(t, "10.0.20348.1", testLayerTars(33, 1), false)
	dir := filepath.Join(t.TempDir(), "lay")
	writeLayout(t, dir, img, "v1")
	loc, err := ParseLocation("oci:" + dir)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	for range 3 {
		r, err := Copy(context.Background(), loc, loc, Config{}, CopyOptions{AllPlatforms: true})
		if err != nil {
			t.Fatal(err)
		}
		if r.Digest != want.String() {
			t.Errorf("copy onto itself: digest %s, want %s", r.Digest, want)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "index.json"))
	im, err := v1.ParseIndexManifest(bytes.NewReader(b))
	if err != nil || len(im.Manifests) != 2 {
		t.Fatalf("index.json: %v, %s", err, b)
	}
	for _, d := range im.Manifests {
		if d.Digest != want {
			t.Errorf("index.json entry %s, want only %s", d.Digest, want)
		}
	}
	src, err := Open(context.Background(), loc, Config{})
	if err != nil || src.Image == nil || src.Index != nil || src.Name != "v1" {
		t.Fatalf("open oci:DIR after the copies: %v (image %v, index %v)", err, src != nil && src.Image != nil, src != nil && src.Index != nil)
	}
}
