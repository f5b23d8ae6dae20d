package image

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/winlayer/winlayer/layer/layertest"

	"github.com/winlayer/winlayer/image/imagetest"
)

// testLayerTars returns n small Windows layer tars, different for each seed.
func testLayerTars(seed uint64, n int) [][]byte {
	tars := make([][]byte, n)
	for i := range n {
		tars[i] = layertest.Tar(
			layertest.Dir("Files"),
			layertest.File(fmt.Sprintf("Files/layer%d.txt", i), layertest.Bytes(seed*100+uint64(i), 1000+i*3000)),
			layertest.Dir("Hives"),
		)
	}
	return tars
}

// testImage builds an image of the given layer tars with a config for
// os/arch/osVersion; zstd selects zstd layers (else gzip).
func testImage(t testing.TB, osName, arch, osVersion string, tars [][]byte, zstd bool) v1.Image {
	return buildTestImage(t, osName, arch, osVersion, tars, zstd, zstd)
}

// testOCIImage is testImage with OCI media types (gzip layers unless zstd).
func testOCIImage(t testing.TB, osVersion string, tars [][]byte, zstd bool) v1.Image {
	return buildTestImage(t, "windows", "amd64", osVersion, tars, zstd, true)
}

func buildTestImage(t testing.TB, osName, arch, osVersion string, tars [][]byte, zstd, oci bool) v1.Image {
	t.Helper()
	img := empty.Image
	for i, tb := range tars {
		opts := []tarball.LayerOption{tarball.WithMediaType(types.DockerLayer)}
		if oci {
			opts = []tarball.LayerOption{tarball.WithMediaType(types.OCILayer)}
		}
		if zstd {
			opts = []tarball.LayerOption{tarball.WithCompression("zstd"), tarball.WithMediaType(types.OCILayerZStd)}
		}
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(tb)), nil }, opts...)
		if err != nil {
			t.Fatalf("layer %d: %v", i, err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatalf("append layer %d: %v", i, err)
		}
	}
	img = imagetest.WithPlatform(t, img, osName, arch, osVersion)
	if oci {
		img = mutate.MediaType(img, types.OCIManifestSchema1)
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	}
	return img
}

// testIndex makes an index of the images, each with the platform of its
// config.
func testIndex(t testing.TB, imgs ...v1.Image) v1.ImageIndex {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, img := range imgs {
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: cf.Platform()}})
	}
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.DockerManifestList), adds...)
}

// testRegistry starts go-containerregistry's in-process registry and gives
// its host:port.
func testRegistry(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// pushTest writes an image or index to host/repo:tag and returns the
// reference.
func pushTest(t testing.TB, host, repo string, what any) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(host + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	switch w := what.(type) {
	case v1.Image:
		err = remote.Write(ref, w)
	case v1.ImageIndex:
		err = remote.WriteIndex(ref, w)
	default:
		t.Fatalf("pushTest: %T", what)
	}
	if err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	return ref
}

// writeLayout writes img to a new OCI layout at dir with ref.name tag.
func writeLayout(t testing.TB, dir string, img v1.Image, tag string) {
	t.Helper()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{refNameAnnotation: tag})); err != nil {
		t.Fatal(err)
	}
}

// writeArchive writes img as a docker-archive tagged tag.
func writeArchive(t testing.TB, file string, img v1.Image, tag string) {
	t.Helper()
	tg, err := name.NewTag(tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(file, tg, img); err != nil {
		t.Fatal(err)
	}
}

// bigLayerTar is a layer tar with one file of n incompressible bytes.
func bigLayerTar(seed uint64, n int) []byte {
	return layertest.Tar(layertest.Dir("Files"), layertest.File("Files/big.bin", layertest.Bytes(seed, n)))
}

// v1SHA256 is v1.SHA256.
var v1SHA256 = v1.SHA256
