package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	lt "github.com/winlayer/winlayer/layer/layertest"

	"github.com/winlayer/winlayer/image/imagetest"
)

// cliTestImage builds a Windows (or other OS) image of n small layers.
func cliTestImage(t *testing.T, osName, osVersion string, seed uint64, n int) v1.Image {
	t.Helper()
	img := empty.Image
	for i := range n {
		tb := lt.Tar(lt.Dir("Files"), lt.File(fmt.Sprintf("Files/f%d.txt", i), lt.Bytes(seed*10+uint64(i), 2000+i)))
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(tb)), nil })
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	img = imagetest.WithPlatform(t, img, osName, "amd64", osVersion)
	return img
}

func cliRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func cliPush(t *testing.T, ref string, what any) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	switch w := what.(type) {
	case v1.Image:
		err = remote.Write(r, w)
	case v1.ImageIndex:
		err = remote.WriteIndex(r, w)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestImageVerbs: pull, ls, inspect, export of a pulled layer, tag, rm of a
// layer an image uses, image rm, as a user runs them.
func TestImageVerbs(t *testing.T) {
	host := cliRegistry(t)
	img := cliTestImage(t, "windows", "10.0.20348.2340", 1, 3)
	ref := host + "/verbs/app:1"
	cliPush(t, ref, img)
	want, _ := img.Digest()
	store := t.TempDir()

	out, errOut, code := run(t, nil, "--store", store, "image", "pull", ref)
	if code != 0 || !strings.Contains(out, want.String()) {
		t.Fatalf("pull: %d %q %q", code, out, errOut)
	}
	if !strings.Contains(errOut, "layer 3/3") {
		t.Errorf("pull progress lines missing: %q", errOut)
	}
	out, _, code = run(t, nil, "--store", store, "image", "ls", "--json")
	var ls []inspectJSON
	if code != 0 || json.Unmarshal([]byte(out), &ls) != nil || len(ls) != 1 || ls[0].ManifestDigest != want.String() || !slices.Contains(ls[0].References, ref) {
		t.Fatalf("ls --json: %d %s", code, out)
	}
	out, _, code = run(t, nil, "--store", store, "image", "inspect", "--json", ref)
	var in map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &in) != nil {
		t.Fatalf("inspect: %d %s", code, out)
	}
	for _, k := range []string{"manifest_digest", "config_digest", "platform", "layers"} {
		if _, ok := in[k]; !ok {
			t.Errorf("inspect --json lacks %s", k)
		}
	}
	pl := in["platform"].(map[string]any)
	if pl["os"] != "windows" || pl["architecture"] != "amd64" || pl["os.version"] != "10.0.20348.2340" {
		t.Errorf("platform %v", pl)
	}
	var ij inspectJSON
	json.Unmarshal([]byte(out), &ij)
	for _, l := range ij.Layers {
		for _, k := range []string{l.ID, l.DiffID, l.Digest, l.MediaType} {
			if k == "" {
				t.Errorf("layer %+v has an empty field", l)
			}
		}
		exp, _, code := run(t, nil, "--store", store, "export", l.ID)
		sum := sha256.Sum256([]byte(exp))
		if code != 0 || "sha256:"+hex.EncodeToString(sum[:]) != l.DiffID {
			t.Errorf("export %s: code %d, hash differs from diff_id %s", l.ID, code, l.DiffID)
		}
	}
	// By digest too.
	if _, _, code := run(t, nil, "--store", store, "image", "inspect", want.String()); code != 0 {
		t.Errorf("inspect by digest: %d", code)
	}
	if _, errOut, code := run(t, nil, "--store", store, "image", "tag", ref, "example.com/x/y:2"); code != 0 {
		t.Fatalf("tag: %d %s", code, errOut)
	}
	// winlayer rm of an image's layer is refused, naming the image.
	top := ij.Layers[len(ij.Layers)-1].ID
	_, errOut, code = run(t, nil, "--store", store, "rm", "--force", top)
	if code == 0 || !strings.Contains(errOut, "example.com/x/y:2") && !strings.Contains(errOut, ref) {
		t.Fatalf("rm of an image layer: %d %q", code, errOut)
	}
	// image rm of one reference keeps the image; of the last removes it
	// and its layers.
	out, _, code = run(t, nil, "--store", store, "image", "rm", "example.com/x/y:2")
	if code != 0 || strings.Contains(out, "deleted") {
		t.Fatalf("rm of one of two references: %d %q", code, out)
	}
	out, errOut, code = run(t, nil, "--store", store, "image", "rm", ref)
	if code != 0 || !strings.Contains(out, "deleted: "+want.String()) || strings.Count(out, "removed layer") != 3 {
		t.Fatalf("rm of the last reference: %d %q %q", code, out, errOut)
	}
	out, _, _ = run(t, nil, "--store", store, "ls", "--json")
	if strings.TrimSpace(out) != "[]" {
		t.Errorf("layers left after image rm: %s", out)
	}
}

// TestImagePullRefusals: a Linux image, an index with two Windows entries
// and no --platform.
func TestImagePullRefusals(t *testing.T) {
	host := cliRegistry(t)
	lin := cliTestImage(t, "linux", "", 2, 1)
	cliPush(t, host+"/lin:1", lin)
	w1 := cliTestImage(t, "windows", "10.0.17763.1", 3, 1)
	w2 := cliTestImage(t, "windows", "10.0.20348.1", 4, 1)
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: w1, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.1"}}},
		mutate.IndexAddendum{Add: w2, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.20348.1"}}})
	cliPush(t, host+"/multi:1", idx)
	store := t.TempDir()
	_, errOut, code := run(t, nil, "--store", store, "image", "pull", host+"/lin:1")
	if code != 1 || !strings.Contains(errOut, "is a Linux image") {
		t.Errorf("Linux image: %d %q", code, errOut)
	}
	_, errOut, code = run(t, nil, "--store", store, "image", "pull", host+"/multi:1")
	if code != 1 || !strings.Contains(errOut, "10.0.17763.1") || !strings.Contains(errOut, "10.0.20348.1") {
		t.Errorf("two Windows entries: %d %q", code, errOut)
	}
	d2, _ := w2.Digest()
	out, errOut, code := run(t, nil, "--store", store, "image", "pull", "-q", "--platform", "windows/amd64:10.0.20348", host+"/multi:1")
	if code != 0 || strings.TrimSpace(out) != d2.String() || errOut != "" {
		t.Errorf("pull -q --platform: %d %q %q", code, out, errOut)
	}
	_, errOut, code = run(t, nil, "--store", store, "image", "load", host+"/multi:1")
	if code != 2 {
		t.Errorf("load of a registry ref: %d %q", code, errOut)
	}
}

// TestImagePullInterrupt: a pull stalled in a blob stops within a second
// of the cancel (Ctrl-C), records no image, and says the completed layers
// stay.
func TestImagePullInterrupt(t *testing.T) {
	ref, _ := stallingRegistry(t, cliTestImage(t, "windows", "10.0.20348.1", 5, 2), "stall/app:1")
	store := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb bytes.Buffer
	codec := make(chan int, 1)
	go func() { codec <- Main(ctx, []string{"--store", store, "image", "pull", ref}, nil, &out, &errb) }()
	time.Sleep(500 * time.Millisecond)
	t0 := time.Now()
	cancel()
	var code int
	select {
	case code = <-codec:
	case <-time.After(5 * time.Second):
		t.Fatal("pull still running 5 s after the interrupt")
	}
	if el := time.Since(t0); el > time.Second {
		t.Errorf("pull stopped %v after the interrupt", el)
	}
	if code != 1 || !strings.Contains(errb.String(), "context canceled") || !strings.Contains(errb.String(), "stay in the store") {
		t.Errorf("interrupted pull: code %d, stderr %q", code, errb.String())
	}
	lsOut, _, _ := run(t, nil, "--store", store, "image", "ls", "--json")
	if strings.TrimSpace(lsOut) != "[]" {
		t.Errorf("images after an interrupted pull: %s", lsOut)
	}
}

// TestImageLoadArchive: a two-image docker-archive loads both images,
// each known by its tag; :REF loads one.
func TestImageLoadArchive(t *testing.T) {
	a := cliTestImage(t, "windows", "10.0.17763.1", 6, 2)
	b := cliTestImage(t, "windows", "10.0.20348.1", 7, 1)
	ta, _ := name.NewTag("example.com/load/a:1")
	tb, _ := name.NewTag("example.com/load/b:1")
	arch := filepath.Join(t.TempDir(), "two.tar")
	if err := tarball.MultiRefWriteToFile(arch, map[name.Reference]v1.Image{ta: a, tb: b}); err != nil {
		t.Fatal(err)
	}
	store := t.TempDir()
	out, errOut, code := run(t, nil, "--store", store, "image", "load", "docker-archive:"+arch)
	if code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(out, "example.com/load/a:1") || !strings.Contains(out, "example.com/load/b:1") {
		t.Fatalf("load of two images: %d %q %q", code, out, errOut)
	}
	store2 := t.TempDir()
	out, errOut, code = run(t, nil, "--store", store2, "image", "load", "--json", "docker-archive:"+arch+":example.com/load/b:1")
	var one inspectJSON
	if code != 0 || json.Unmarshal([]byte(out), &one) != nil || !slices.Equal(one.References, []string{"example.com/load/b:1"}) || len(one.Layers) != 1 {
		t.Fatalf("load :REF --json: %d %q %q", code, out, errOut)
	}
}

// TestImageReadOnlyVerbs: image ls and inspect create nothing (a missing
// store is an error naming it); image rm and tag refuse a missing store.
func TestImageReadOnlyVerbs(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nostore")
	for _, args := range [][]string{{"image", "ls"}, {"image", "inspect", "x:1"}, {"image", "rm", "x:1"}, {"image", "tag", "x:1", "y:1"}} {
		_, errOut, code := run(t, nil, append([]string{"--store", missing}, args...)...)
		if code != 1 || !strings.Contains(errOut, missing) {
			t.Errorf("%v on a missing store: %d %q", args, code, errOut)
		}
		if _, err := os.Stat(missing); err == nil {
			t.Fatalf("%v created the store", args)
		}
	}
	// An existing store without images lists none and makes no index.
	store := t.TempDir()
	out, _, code := run(t, nil, "--store", store, "image", "ls", "--json")
	if code != 0 || strings.TrimSpace(out) != "[]" {
		t.Errorf("image ls on an empty store: %d %q", code, out)
	}
	if _, err := os.Stat(filepath.Join(store, ".images")); err == nil {
		t.Errorf("image ls created .images")
	}
}
