package registrytest

import (
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// pushPull pushes a random image with auth and pulls it back by tag,
// comparing digests and layer contents.
func pushPull(t *testing.T, r *Registry, opts ...remote.Option) {
	t.Helper()
	img, err := random.Image(1024, 3)
	if err != nil {
		t.Fatal(err)
	}
	ref := r.Ref(t, "test/random:v1")
	if err := remote.Write(ref, img, opts...); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	got, err := remote.Image(ref, opts...)
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	want, _ := img.Digest()
	gd, err := got.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if gd != want {
		t.Errorf("pulled digest %s, pushed %s", gd, want)
	}
	ls, err := got.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 3 {
		t.Fatalf("pulled %d layers, want 3", len(ls))
	}
	for _, l := range ls {
		// Reading the blob checks its digest against the manifest.
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			t.Errorf("layer: %v", err)
		}
	}
}

func TestDistributionPushPullAuth(t *testing.T) {
	r := Distribution(t)
	if r.Username == "" || r.Password == "" {
		t.Fatal("no credentials")
	}
	pushPull(t, r, remote.WithAuth(r.Authenticator()))
	// The keychain gives the same credentials for the registry's host.
	pushPull(t, r, remote.WithAuthFromKeychain(r.Keychain()))
}

func TestDistributionRefusesBadCredentials(t *testing.T) {
	r := Distribution(t)
	img, err := random.Image(100, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref := r.Ref(t, "test/refused:v1")
	for _, tc := range []struct {
		name string
		auth authn.Authenticator
	}{
		{"wrong password", authn.FromConfig(authn.AuthConfig{Username: r.Username, Password: r.Password + "x"})},
		{"wrong user", authn.FromConfig(authn.AuthConfig{Username: r.Username + "x", Password: r.Password})},
		{"anonymous", authn.Anonymous},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := remote.Write(ref, img, remote.WithAuth(tc.auth))
			var te *transport.Error
			if !errors.As(err, &te) || te.StatusCode != http.StatusUnauthorized {
				t.Fatalf("push with %s: got %v, want HTTP 401", tc.name, err)
			}
		})
	}
	// Nothing was stored.
	if resp := r.Request(t, http.MethodGet, "/v2/test/refused/tags/list"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("tags of the refused repository: HTTP %d, want 404", resp.StatusCode)
	}
}

func TestDistributionStopsAtCleanup(t *testing.T) {
	var host string
	t.Run("inner", func(t *testing.T) {
		host = Distribution(t).Host
	})
	if _, err := http.Get("http://" + host + "/v2/"); err == nil {
		t.Errorf("registry on %s still answers after its test ended", host)
	}
}

func TestInProcess(t *testing.T) {
	var requests atomic.Int64
	count := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			h.ServeHTTP(w, r)
		})
	}
	r := InProcess(t, count)
	pushPull(t, r, remote.WithAuthFromKeychain(r.Keychain()))
	if requests.Load() == 0 {
		t.Error("the wrapping handler saw no request")
	}
}
