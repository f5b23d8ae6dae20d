package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/winlayer/winlayer/internal/registrytest"
)

// TestSampleImageWriteFlow runs the write side on the bundled sample
// (testdata/image) through the command line, against the real
// docker-registry with auth: copy --all-platforms to the registry (index
// digest kept), pull one platform into a store, push it to another
// repository and save it to a layout (manifest digest kept), and copy the
// whole index back into a layout (index digest kept).
func TestSampleImageWriteFlow(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(testdata, "image", "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	top, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil || len(top.Manifests) != 1 {
		t.Fatalf("sample index.json: %v", err)
	}
	indexDigest := top.Manifests[0].Digest.String()
	sample := "oci:" + filepath.Join(testdata, "image") + ":latest"

	r := registrytest.Distribution(t)
	loginConfig(t, r)
	out, errOut, code := run(t, nil, "image", "copy", "--all-platforms", "--json", sample, r.Host+"/sample/win:1")
	if code != 0 {
		t.Fatalf("copy the sample: %d %s", code, errOut)
	}
	if res := decodeResult(t, out); res.Digest != indexDigest {
		t.Errorf("copy the sample: %s, want the index %s", res.Digest, indexDigest)
	}

	store := t.TempDir()
	out, errOut, code = run(t, nil, "--store", store, "image", "pull", "-q", "--platform", "windows/amd64:10.0.20348", r.Host+"/sample/win:1")
	if code != 0 {
		t.Fatalf("pull: %d %s", code, errOut)
	}
	manifest := strings.Fields(out)[0]
	if !strings.HasPrefix(manifest, "sha256:") {
		t.Fatalf("pull -q printed %q, want the manifest digest", out)
	}
	out, errOut, code = run(t, nil, "--store", store, "image", "push", "--json", manifest, r.Host+"/other/win:2")
	if code != 0 {
		t.Fatalf("push: %d %s", code, errOut)
	}
	if res := decodeResult(t, out); res.Digest != manifest {
		t.Errorf("push: %s, want %s", res.Digest, manifest)
	}
	dir := t.TempDir()
	out, errOut, code = run(t, nil, "--store", store, "image", "save", "--json", manifest, "oci:"+dir+"/one:win")
	if code != 0 {
		t.Fatalf("save: %d %s", code, errOut)
	}
	if res := decodeResult(t, out); res.Digest != manifest {
		t.Errorf("save: %s, want %s", res.Digest, manifest)
	}
	out, errOut, code = run(t, nil, "image", "copy", "-q", "--all-platforms", "--json", r.Host+"/sample/win:1", "oci:"+dir+"/all:latest")
	if code != 0 {
		t.Fatalf("copy back: %d %s", code, errOut)
	}
	if res := decodeResult(t, out); res.Digest != indexDigest {
		t.Errorf("copy back: %s, want %s", res.Digest, indexDigest)
	}
	// Every blob of the copy is a blob of the sample, byte for byte.
	blobs, _ := filepath.Glob(filepath.Join(dir, "all", "blobs", "sha256", "*"))
	if len(blobs) == 0 {
		t.Fatal("the copied layout has no blobs")
	}
	for _, b := range blobs {
		got, _ := os.ReadFile(b)
		want, err := os.ReadFile(filepath.Join(testdata, "image", "blobs", "sha256", filepath.Base(b)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("blob %s differs from the sample's (%v)", filepath.Base(b), err)
		}
	}
}
