package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/winlayer/winlayer/image/imagetest"
)

// foreignImage is a Windows image whose base is a foreign layer served
// at url (a 127.0.0.1 test server) and whose top is an ordinary layer.
func foreignImage(t *testing.T, url string, base, top []byte) (v1.Image, v1.Layer) {
	t.Helper()
	open := func(b []byte) tarball.Opener {
		return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	fl, err := tarball.LayerFromOpener(open(base), tarball.WithMediaType(types.DockerForeignLayer))
	if err != nil {
		t.Fatal(err)
	}
	tl, err := tarball.LayerFromOpener(open(top))
	if err != nil {
		t.Fatal(err)
	}
	img := testImage(t, "windows", "amd64", "10.0.17763.1", nil, false)
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: fl, MediaType: types.DockerForeignLayer, URLs: []string{url}},
		mutate.Addendum{Layer: tl})
	if err != nil {
		t.Fatal(err)
	}
	img = imagetest.WithPlatform(t, img, "windows", "amd64", "10.0.17763.1")
	return img, fl
}

// TestPullForeign: a foreign layer the registry does not have comes from
// its urls; --no-foreign-urls forbids that; one the registry has is taken
// from the registry.
func TestPullForeign(t *testing.T) {
	tars := testLayerTars(21, 2)
	var blob []byte
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write(blob)
	}))
	defer srv.Close()
	img, fl := foreignImage(t, srv.URL+"/base.tar.gz", tars[0], tars[1])
	rc, err := fl.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	blob, _ = io.ReadAll(rc)
	host := testRegistry(t)
	ref := pushTest(t, host, "foreign/app:1", img) // ggcr leaves the foreign blob out

	s := newTestStore(t)
	loc, _ := ParseLocation(ref.String())
	_, err = s.Pull(context.Background(), loc, Config{}, PullOptions{NoForeignURLs: true})
	if !errors.Is(err, ErrForeignURLsForbidden) {
		t.Fatalf("pull with NoForeignURLs: %v, want ErrForeignURLsForbidden", err)
	}
	if hits.Load() != 0 {
		t.Errorf("the url was fetched %d times under NoForeignURLs", hits.Load())
	}
	r := pullOne(t, s, ref.String(), PullOptions{})
	if hits.Load() != 1 {
		t.Errorf("url fetched %d times, want 1", hits.Load())
	}
	checkExports(t, s, img, r)
	if l := r.Layers[0]; l.MediaType != string(types.DockerForeignLayer) || len(l.URLs) != 1 {
		t.Errorf("foreign layer record %+v lost its media type or urls", l)
	}
	// The stored image keeps the foreign descriptor (and so the digest).
	si, err := s.Image(ref.String())
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if d, _ := si.Digest(); d != want {
		t.Errorf("stored image digest %s, want %s", d, want)
	}

	// A registry that has the blob is asked first.
	hits.Store(0)
	r2, err := name.ParseReference(host + "/foreign/full:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r2, img, remote.WithNondistributable); err != nil {
		t.Fatal(err)
	}
	s2 := newTestStore(t)
	pullOne(t, s2, r2.String(), PullOptions{NoForeignURLs: true})
	if hits.Load() != 0 {
		t.Errorf("url fetched %d times although the registry has the blob", hits.Load())
	}
}

// TestPullMediaTypeLies: the decompression follows the magic bytes, not
// the media type (ggcr#1980): zstd under a gzip media type, gzip under an
// uncompressed one, an uncompressed tar under a gzip one.
func TestPullMediaTypeLies(t *testing.T) {
	tars := testLayerTars(22, 3)
	open := func(b []byte) tarball.Opener {
		return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	zl, err := tarball.LayerFromOpener(open(tars[0]), tarball.WithCompression("zstd"))
	if err != nil {
		t.Fatal(err)
	}
	gl, err := tarball.LayerFromOpener(open(tars[1]))
	if err != nil {
		t.Fatal(err)
	}
	img := testImage(t, "windows", "amd64", "10.0.17763.1", nil, false)
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: zl, MediaType: types.DockerLayer},
		mutate.Addendum{Layer: gl, MediaType: types.DockerUncompressedLayer},
		mutate.Addendum{Layer: uncompressedLayer{tars[2]}, MediaType: types.OCILayer})
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "windows", "amd64"
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	host := testRegistry(t)
	ref := pushTest(t, host, "lies/app:1", img)
	s := newTestStore(t)
	r := pullOne(t, s, ref.String(), PullOptions{})
	for i, mt := range []types.MediaType{types.DockerLayer, types.DockerUncompressedLayer, types.OCILayer} {
		if r.Layers[i].MediaType != string(mt) {
			t.Fatalf("layer %d served as %s, the test wants the lie %s", i, r.Layers[i].MediaType, mt)
		}
	}
	checkExports(t, s, img, r)
	want, _ := img.Digest()
	si, err := s.Image(ref.String())
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := si.Digest(); d != want {
		t.Errorf("stored image digest %s, want %s", d, want)
	}
}

// uncompressedLayer is a layer whose "compressed" blob is the tar itself.
type uncompressedLayer struct{ b []byte }

func (u uncompressedLayer) Digest() (v1.Hash, error)            { return sha256Of(u.b), nil }
func (u uncompressedLayer) DiffID() (v1.Hash, error)            { return sha256Of(u.b), nil }
func (u uncompressedLayer) Size() (int64, error)                { return int64(len(u.b)), nil }
func (u uncompressedLayer) MediaType() (types.MediaType, error) { return types.OCILayer, nil }
func (u uncompressedLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(u.b)), nil
}
func (u uncompressedLayer) Uncompressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(u.b)), nil
}

// TestLoadArchiveForeign: a docker-archive with a foreign layer (in
// LayerSources) loads from the archive's copy of the layer, keeps the
// foreign descriptor, and fetches nothing from the urls; with the layer
// left out of the archive its urls are used.
func TestLoadArchiveForeign(t *testing.T) {
	tars := testLayerTars(23, 2)
	var hits atomic.Int32
	var blob []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write(blob)
	}))
	defer srv.Close()
	img, fl := foreignImage(t, srv.URL+"/base.tar.gz", tars[0], tars[1])
	rc, _ := fl.Compressed()
	blob, _ = io.ReadAll(rc)
	arch := filepath.Join(t.TempDir(), "f.tar")
	writeArchive(t, arch, img, "example.com/foreign:1")
	s := newTestStore(t)
	r := pullOne(t, s, "docker-archive:"+arch, PullOptions{NoForeignURLs: true})
	checkExports(t, s, img, r)
	if hits.Load() != 0 {
		t.Errorf("urls fetched %d times for a layer the archive holds", hits.Load())
	}
	if l := r.Layers[0]; l.MediaType != string(types.DockerForeignLayer) || len(l.URLs) != 1 {
		t.Errorf("foreign layer record %+v", l)
	}
	want, _ := img.Digest()
	if r.ManifestDigest != want.String() {
		t.Errorf("generated manifest %s, the image's is %s (same config, layers and descriptors)", r.ManifestDigest, want)
	}

	// The same archive without the foreign layer's file: its urls.
	d, _ := fl.Digest()
	thin := filepath.Join(t.TempDir(), "thin.tar")
	dropMember(t, arch, thin, d.Hex+".tar.gz")
	s2 := newTestStore(t)
	loc, _ := ParseLocation("docker-archive:" + thin)
	if _, err := s2.Pull(context.Background(), loc, Config{}, PullOptions{NoForeignURLs: true}); !errors.Is(err, ErrForeignURLsForbidden) {
		t.Fatalf("load without the layer file, no urls: %v", err)
	}
	r2 := pullOne(t, s2, "docker-archive:"+thin, PullOptions{})
	checkExports(t, s2, img, r2)
	// The top layer was imported by the failed load; its blob is kept
	// by the second, so the stored image reads back unchanged.
	if si, err := s2.OpenImage(r2.ManifestDigest, CompressionGzip); err != nil || si.Recompressed {
		t.Errorf("stored image: recompressed %v, %v", si != nil && si.Recompressed, err)
	}
	if hits.Load() != 1 || r2.ManifestDigest != want.String() {
		t.Errorf("urls fetched %d times (want 1), manifest %s", hits.Load(), r2.ManifestDigest)
	}
}

// dropMember copies the tar src to dst without the member named drop.
func dropMember(t *testing.T, src, dst, drop string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	tr, tw := tar.NewReader(in), tar.NewWriter(out)
	found := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == drop {
			found = true
			continue
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatalf("%s has no member %s", src, drop)
	}
}
