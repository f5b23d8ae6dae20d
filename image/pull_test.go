package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/winlayer/winlayer/layer"
)

// newTestStore opens an image store over a new layer store.
func newTestStore(t testing.TB, opts ...StoreOption) *Store {
	t.Helper()
	ls, err := layer.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return OpenStore(ls, opts...)
}

// pullOne pulls s and returns its single result.
func pullOne(t testing.TB, s *Store, src string, opts PullOptions) *PullResult {
	t.Helper()
	loc, err := ParseLocation(src)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := s.Pull(context.Background(), loc, Config{}, opts)
	if err != nil {
		t.Fatalf("pull %s: %v", src, err)
	}
	if len(rs) != 1 {
		t.Fatalf("pull %s: %d images", src, len(rs))
	}
	return rs[0]
}

// checkExports checks that every layer's export hashes to the config's
// diff_ids and that the stored image gives back the original digests.
func checkExports(t testing.TB, s *Store, img v1.Image, r *PullResult) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Layers) != len(cf.RootFS.DiffIDs) {
		t.Fatalf("%d layers, config has %d", len(r.Layers), len(cf.RootFS.DiffIDs))
	}
	chain := ChainIDs(cf.RootFS.DiffIDs)
	for i, l := range r.Layers {
		if l.ID != chain[i].Hex {
			t.Errorf("layer %d id %s, want ChainID %s", i, l.ID, chain[i].Hex)
		}
		rc, err := s.Layers().Export(context.Background(), l.ID)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		if _, err := io.Copy(h, rc); err != nil {
			t.Fatal(err)
		}
		rc.Close()
		if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != cf.RootFS.DiffIDs[i].String() {
			t.Errorf("layer %d export hashes to %s, want diff_id %s", i, got, cf.RootFS.DiffIDs[i])
		}
	}
}

func TestPullRegistry(t *testing.T) {
	host := testRegistry(t)
	for _, zstd := range []bool{false, true} {
		name := "gzip"
		if zstd {
			name = "zstd"
		}
		t.Run(name, func(t *testing.T) {
			img := testImage(t, "windows", "amd64", "10.0.20348.2340", testLayerTars(7, 3), zstd)
			ref := pushTest(t, host, "pull/"+name+":1", img)
			want, _ := img.Digest()
			s := newTestStore(t)
			r := pullOne(t, s, ref.String(), PullOptions{})
			if r.ManifestDigest != want.String() || r.Fetched != 3 || r.Skipped != 0 {
				t.Fatalf("pull: digest %s fetched %d skipped %d, want %s 3 0", r.ManifestDigest, r.Fetched, r.Skipped, want)
			}
			if !slices.Contains(r.References, CanonicalRef(ref.String())) {
				t.Errorf("references %v lack %s", r.References, ref)
			}
			checkExports(t, s, img, r)
			// The stored image is the pulled one, blob for blob.
			got, err := s.Image(ref.String())
			if err != nil {
				t.Fatal(err)
			}
			if d, _ := got.Digest(); d != want {
				t.Errorf("stored image digest %s, want %s", d, want)
			}
			ls, _ := img.Layers()
			gls, err := got.Layers()
			if err != nil {
				t.Fatal(err)
			}
			for i, l := range ls {
				d, _ := l.Digest()
				rc, err := gls[i].Compressed()
				if err != nil {
					t.Fatal(err)
				}
				h, _, err := v1.SHA256(rc)
				rc.Close()
				if err != nil || h != d {
					t.Errorf("layer %d kept blob hashes to %s (%v), want %s", i, h, err, d)
				}
			}
			// Again: everything is there.
			r2 := pullOne(t, s, ref.String(), PullOptions{})
			if r2.Fetched != 0 || r2.Skipped != 3 || r2.ManifestDigest != want.String() {
				t.Errorf("second pull fetched %d skipped %d", r2.Fetched, r2.Skipped)
			}
		})
	}
}

func TestPullWithoutBlobs(t *testing.T) {
	host := testRegistry(t)
	img := testImage(t, "windows", "amd64", "10.0.20348.2340", testLayerTars(8, 2), false)
	ref := pushTest(t, host, "noblobs:1", img)
	want, _ := img.Digest()
	s := newTestStore(t, WithoutLayerBlobs())
	r := pullOne(t, s, ref.String(), PullOptions{})
	checkExports(t, s, img, r)
	for _, l := range r.Layers {
		if s.hasBlob(mustHash(l.Digest)) {
			t.Errorf("layer blob %s kept WithoutLayerBlobs", l.Digest)
		}
	}
	// Recompressed with zstd: new layer digests, a new manifest.
	si, err := s.OpenImage(ref.String(), CompressionZstd)
	if err != nil {
		t.Fatal(err)
	}
	d, err := si.Image.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if !si.Recompressed || d == want {
		t.Errorf("without blobs: recompressed %v, digest %s (original %s)", si.Recompressed, d, want)
	}
	cf, _ := si.Image.ConfigFile()
	wcf, _ := img.ConfigFile()
	if !slices.Equal(cf.RootFS.DiffIDs, wcf.RootFS.DiffIDs) {
		t.Errorf("recompressed image diff_ids %v, want %v", cf.RootFS.DiffIDs, wcf.RootFS.DiffIDs)
	}
}

// TestPullLayout: an OCI layout pulls like a registry.
func TestPullLayoutAndArchive(t *testing.T) {
	dir := t.TempDir()
	img := testImage(t, "windows", "amd64", "10.0.20348.2340", testLayerTars(9, 2), false)
	writeLayout(t, filepath.Join(dir, "lay"), img, "v1")
	s := newTestStore(t)
	r := pullOne(t, s, "oci:"+filepath.Join(dir, "lay")+":v1", PullOptions{})
	want, _ := img.Digest()
	if r.ManifestDigest != want.String() || !slices.Equal(r.References, []string{"v1"}) {
		t.Errorf("layout pull: %s %v", r.ManifestDigest, r.References)
	}
	checkExports(t, s, img, r)

	arch := filepath.Join(dir, "a.tar")
	writeArchive(t, arch, img, "example.com/a:1")
	s2 := newTestStore(t)
	r2 := pullOne(t, s2, "docker-archive:"+arch, PullOptions{})
	checkExports(t, s2, img, r2)
	if !r2.GeneratedManifest || !slices.Equal(r2.References, []string{"example.com/a:1"}) {
		t.Errorf("archive load: generated %v refs %v", r2.GeneratedManifest, r2.References)
	}
	if _, err := s2.Lookup(r2.ManifestDigest); err != nil {
		t.Errorf("lookup by generated manifest digest: %v", err)
	}
	if _, err := s2.Lookup("nope:1"); !errors.Is(err, ErrNoImage) {
		t.Errorf("lookup of a missing name: %v", err)
	}
}
