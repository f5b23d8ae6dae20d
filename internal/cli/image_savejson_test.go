package cli

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/winlayer/winlayer/image"
)

// The manifest digests of the bundled sample's two images.
const (
	sample2019 = "sha256:cb027c7caeef2cfe888eb429b658139b6e8ba2626aff6ceef0e5ef2e884707fd"
	sample2022 = "sha256:07e39aef97edd99f38a923b495d8d0345a8a211c633aaa2b7a3f5b502c032f71"
)

// loadSampleBoth loads both images of the bundled sample into store, the
// 2022 one tagged 127.0.0.1:5000/app:2022, and returns each image's layer
// blob digests by manifest digest.
func loadSampleBoth(t *testing.T, store string) map[string][]string {
	t.Helper()
	for _, v := range []string{"10.0.17763", "10.0.20348"} {
		if _, errOut, code := run(t, nil, "--store", store, "image", "load", "-q", "--platform", "windows/amd64:"+v, "oci:"+testdata+"/image"); code != 0 {
			t.Fatalf("load %s: %d %s", v, code, errOut)
		}
	}
	if _, errOut, code := run(t, nil, "--store", store, "image", "tag", sample2022, "127.0.0.1:5000/app:2022"); code != 0 {
		t.Fatalf("tag: %d %s", code, errOut)
	}
	layers := map[string][]string{}
	for _, d := range []string{sample2019, sample2022} {
		out, errOut, code := run(t, nil, "--store", store, "image", "inspect", "--json", d)
		if code != 0 {
			t.Fatalf("inspect %s: %d %s", d, code, errOut)
		}
		var info image.ImageInfo
		if err := json.Unmarshal([]byte(out), &info); err != nil {
			t.Fatal(err)
		}
		for _, l := range info.Layers {
			layers[d] = append(layers[d], l.Digest)
		}
	}
	return layers
}

// TestSaveJSONSeveralImages: 'image save --json' of several images prints
// an array with one object per image saved — its destination, its manifest
// digest and its own layer blobs — for a docker-archive (which reported the
// first image alone, with the blobs of both) and an OCI layout (which
// printed one object after the other, no JSON document); one image still
// prints one object.
func TestSaveJSONSeveralImages(t *testing.T) {
	store := t.TempDir()
	layers := loadSampleBoth(t, store)
	dir := t.TempDir()
	archive := filepath.Join(dir, "two.tar")
	layout := filepath.Join(dir, "layout")
	tests := []struct {
		name     string
		dest     string
		names    []string
		wantDest []string
	}{
		{"docker-archive", "docker-archive:" + archive, []string{sample2019, "127.0.0.1:5000/app:2022"},
			[]string{"docker-archive:" + archive, "docker-archive:" + archive + ":127.0.0.1:5000/app:2022"}},
		{"oci layout", "oci:" + layout, []string{sample2019, "127.0.0.1:5000/app:2022"},
			[]string{"oci:" + layout, "oci:" + layout + ":127.0.0.1:5000/app:2022"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--store", store, "image", "save", "-q", "--json"}, tc.names...)
			out, errOut, code := run(t, nil, append(args, tc.dest)...)
			if code != 0 {
				t.Fatalf("save: %d %s", code, errOut)
			}
			var got []image.Result
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("--json of two images is no JSON array: %v\n%s", err, out)
			}
			if len(got) != 2 {
				t.Fatalf("%d objects, want one per image (2):\n%s", len(got), out)
			}
			for i, want := range []string{sample2019, sample2022} {
				r := got[i]
				if r.Digest != want || r.SourceDigest != want || r.Destination != tc.wantDest[i] {
					t.Errorf("image %d: destination %s digest %s source %s, want %s %s", i, r.Destination, r.Digest, r.SourceDigest, tc.wantDest[i], want)
				}
				var blobs []string
				for _, b := range r.Blobs {
					blobs = append(blobs, b.Digest)
					if b.Action != image.ActionCopied && b.Action != image.ActionPresent {
						t.Errorf("image %d: blob %s action %q", i, b.Digest, b.Action)
					}
				}
				if w := slices.Sorted(slices.Values(layers[want])); !slices.Equal(blobs, w) {
					t.Errorf("image %d: blobs %v, want its own layers %v", i, blobs, w)
				}
			}
		})
	}
	// One image: one object, as before.
	out, errOut, code := run(t, nil, "--store", store, "image", "save", "-q", "--json", sample2022, "docker-archive:"+filepath.Join(dir, "one.tar"))
	if code != 0 {
		t.Fatalf("save one: %d %s", code, errOut)
	}
	if r := decodeResult(t, out); r.Digest != sample2022 || len(r.Blobs) != len(layers[sample2022]) {
		t.Errorf("save --json of one image: %+v", r)
	}
	// Plain output of several images into a layout: a line per image.
	out, errOut, code = run(t, nil, "--store", store, "image", "save", "-q", sample2019, sample2022, "oci:"+filepath.Join(dir, "plain"))
	if code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(out, "("+sample2019+") to oci:") || !strings.Contains(out, "("+sample2022+") to oci:") {
		t.Errorf("save of two images into a layout printed %q (%d %s)", out, code, errOut)
	}
}
