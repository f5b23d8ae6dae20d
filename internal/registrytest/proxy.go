package registrytest

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
)

// Proxy puts an HTTP proxy on 127.0.0.1 in front of r: the returned
// Registry has the proxy's Host and r's credentials. Each wrap wraps the
// proxy's handler (outermost last), so a test can count, delay, cut or
// refuse the requests a real registry receives. The proxy is closed when
// the test ends.
func (r *Registry) Proxy(t testing.TB, wrap ...func(http.Handler) http.Handler) *Registry {
	t.Helper()
	target, err := url.Parse(r.URL())
	if err != nil {
		t.Fatalf("registrytest: %v", err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	var h http.Handler = rp
	for _, w := range wrap {
		h = w(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	p := *r
	p.Host = strings.TrimPrefix(srv.URL, "http://")
	return &p
}
