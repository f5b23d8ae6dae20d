package registrytest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// Registry is a running test registry.
type Registry struct {
	// Host is "127.0.0.1:PORT"; go-containerregistry and winlayer speak
	// plain HTTP to it.
	Host string
	// Username and Password are the credentials it accepts; both empty
	// when it needs none (InProcess).
	Username, Password string
	// Dir is the registry's storage directory (empty for InProcess).
	Dir string
	// LogFile holds the registry's log (empty for InProcess).
	LogFile string
}

// Authenticator gives the registry's credentials (authn.Anonymous when it
// needs none).
func (r *Registry) Authenticator() authn.Authenticator {
	if r.Username == "" && r.Password == "" {
		return authn.Anonymous
	}
	return authn.FromConfig(authn.AuthConfig{Username: r.Username, Password: r.Password})
}

// Keychain resolves the registry's host to its credentials and every other
// registry to anonymous access.
func (r *Registry) Keychain() authn.Keychain { return keychain{r} }

type keychain struct{ r *Registry }

func (k keychain) Resolve(res authn.Resource) (authn.Authenticator, error) {
	if res.RegistryStr() == k.r.Host {
		return k.r.Authenticator(), nil
	}
	return authn.Anonymous, nil
}

// Ref parses "repo[:tag|@digest]" as a reference on this registry; it
// fails the test if the text is not a valid reference.
func (r *Registry) Ref(t testing.TB, repo string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(r.Host+"/"+repo, name.StrictValidation)
	if err != nil {
		t.Fatalf("registrytest: reference %q: %v", repo, err)
	}
	return ref
}

// URL is the registry's base URL ("http://127.0.0.1:PORT").
func (r *Registry) URL() string { return "http://" + r.Host }

// Request makes an HTTP request to the registry with its credentials (for
// tests that look at the registry's API directly).
func (r *Registry) Request(t testing.TB, method, path string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, r.URL()+path, nil)
	if err != nil {
		t.Fatalf("registrytest: %s %s: %v", method, path, err)
	}
	if r.Username != "" {
		req.SetBasicAuth(r.Username, r.Password)
	}
	req.Header.Set("Accept", strings.Join([]string{
		"application/vnd.oci.image.index.v1+json",
		"application/vnd.oci.image.manifest.v1+json",
		"application/vnd.docker.distribution.manifest.list.v2+json",
		"application/vnd.docker.distribution.manifest.v2+json",
	}, ", "))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("registrytest: %s %s: %v", method, path, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("registrytest: random: %v", err))
	}
	return hex.EncodeToString(b)
}
