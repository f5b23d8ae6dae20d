package image

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/winlayer/winlayer/internal/registrytest"
)

// skopeo returns the skopeo binary; the test is skipped only when it is
// not installed (.ci/run installs it).
func skopeo(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("skopeo")
	if err != nil {
		t.Skipf("skopeo is not installed (.ci/run installs it): %v", err)
	}
	return p
}

func runSkopeo(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(skopeo(t), append([]string{"--insecure-policy"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("skopeo %v: %v\n%s", args, err, out)
	}
}

// TestPullDistributionAuth: a pull from Debian's docker-registry
// (distribution 2.8.2) with htpasswd auth; wrong credentials are refused.
func TestPullDistributionAuth(t *testing.T) {
	reg := registrytest.Distribution(t)
	img := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(31, 3), true)
	ref := reg.Ref(t, "dist/app:1")
	if err := remote.Write(ref, img, remote.WithAuth(reg.Authenticator())); err != nil {
		t.Fatal(err)
	}
	s := newTestStore(t)
	loc, _ := ParseLocation(ref.String())
	bad := authn.NewMultiKeychain(staticKeychain{authn.FromConfig(authn.AuthConfig{Username: reg.Username, Password: "wrong"})})
	if _, err := s.Pull(context.Background(), loc, Config{Keychain: bad}, PullOptions{}); err == nil {
		t.Fatal("pull with a wrong password succeeded")
	}
	rs, err := s.Pull(context.Background(), loc, Config{Keychain: reg.Keychain()}, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkExports(t, s, img, rs[0])
	want, _ := img.Digest()
	if rs[0].ManifestDigest != want.String() {
		t.Errorf("digest %s, want %s", rs[0].ManifestDigest, want)
	}
}

type staticKeychain struct{ a authn.Authenticator }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return k.a, nil }

// TestPullSkopeoPushed: an image pushed by skopeo (not winlayer) to
// docker-registry pulls, and its layer exports hash to the config's
// diff_ids; the manifest digest is the one the registry serves.
func TestPullSkopeoPushed(t *testing.T) {
	skopeo(t)
	reg := registrytest.Distribution(t)
	dir := filepath.Join(t.TempDir(), "layout")
	img := testOCIImage(t, "10.0.20348.2340", testLayerTars(32, 3), false)
	writeLayout(t, dir, img, "v1")
	ref := reg.Ref(t, "peer/app:1")
	runSkopeo(t, "copy", "--dest-tls-verify=false", "--dest-creds", reg.Username+":"+reg.Password,
		"oci:"+dir+":v1", "docker://"+ref.String())
	served, err := remote.Get(ref, remote.WithAuth(reg.Authenticator()))
	if err != nil {
		t.Fatal(err)
	}
	s := newTestStore(t)
	loc, _ := ParseLocation(ref.String())
	rs, err := s.Pull(context.Background(), loc, Config{Keychain: reg.Keychain()}, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkExports(t, s, img, rs[0])
	if rs[0].ManifestDigest != served.Digest.String() {
		t.Errorf("pulled manifest %s, the registry serves %s", rs[0].ManifestDigest, served.Digest)
	}
}

// TestLoadSkopeoArchive: a docker-archive written by skopeo loads, known by
// its tag and the digest of the manifest written for it.
func TestLoadSkopeoArchive(t *testing.T) {
	skopeo(t)
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "layout")
	img := testOCIImage(t, "10.0.20348.2340", testLayerTars(33, 2), false)
	writeLayout(t, dir, img, "v1")
	arch := filepath.Join(tmp, "a.tar")
	runSkopeo(t, "copy", "oci:"+dir+":v1", "docker-archive:"+arch+":example.com/peer/app:1")
	s := newTestStore(t)
	r := pullOne(t, s, "docker-archive:"+arch, PullOptions{})
	checkExports(t, s, img, r)
	if !slices.Contains(r.References, "example.com/peer/app:1") {
		t.Errorf("references %v", r.References)
	}
	got, err := s.Lookup(r.ManifestDigest)
	if err != nil || got.ManifestDigest != r.ManifestDigest {
		t.Errorf("lookup by manifest digest: %v", err)
	}
	// The stored image (uncompressed layers: blobs are the exports) reads
	// back with the same digest.
	si, err := s.Image("example.com/peer/app:1")
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := si.Digest(); d.String() != r.ManifestDigest {
		t.Errorf("stored image digest %s, want %s", d, r.ManifestDigest)
	}
	ls, err := si.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range ls {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		h, _, _ := v1SHA256(rc)
		rc.Close()
		if h.String() != r.Layers[i].Digest {
			t.Errorf("layer %d blob hashes to %s, manifest says %s", i, h, r.Layers[i].Digest)
		}
	}
}
