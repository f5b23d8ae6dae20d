package imagetest

import (
	"context"
	"os/exec"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/winlayer/winlayer/internal/registrytest"
)

// TestSampleThroughSkopeo copies the committed sample with a peer tool
// (skopeo copy --all) into Debian's distribution registry, with its
// default validation, and checks the registry serves the very same index,
// manifests and layers (same digests).
func TestSampleThroughSkopeo(t *testing.T) {
	skopeo, err := exec.LookPath("skopeo")
	if err != nil {
		t.Skip("skopeo is not installed (apt-get install skopeo; .ci/run installs it)")
	}
	s, err := NewSample()
	if err != nil {
		t.Fatal(err)
	}
	reg := registrytest.Distribution(t)
	ref := reg.Ref(t, "winlayer/sample:latest")
	out, err := exec.Command(skopeo, "copy", "--all", "--insecure-policy", "--dest-tls-verify=false",
		"--dest-creds", reg.Username+":"+reg.Password,
		"oci:"+committed+":"+SampleTag, "docker://"+ref.String()).CombinedOutput()
	if err != nil {
		t.Fatalf("skopeo copy: %v\n%s", err, out)
	}
	idx, err := remote.Index(ref, remote.WithAuth(reg.Authenticator()), remote.WithContext(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if d != s.IndexDigest {
		t.Errorf("the registry's index is %s, want the sample's %s", d, s.IndexDigest)
	}
	for _, want := range s.Images {
		img, err := idx.Image(want.ManifestDigest)
		if err != nil {
			t.Fatalf("%s: %v", want.Platform.OSVersion, err)
		}
		ls, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range ls {
			if got, err := l.Digest(); err != nil || got != want.Layers[i].Digest {
				t.Errorf("%s layer %d: %s (%v), want %s", want.Platform.OSVersion, i, got, err, want.Layers[i].Digest)
			}
		}
	}
}
