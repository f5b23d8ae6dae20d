package registrytest

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// InProcess starts go-containerregistry's in-memory registry on 127.0.0.1
// in this process, without auth. Each wrap, if given, wraps the registry's
// handler (outermost last), so a test can count, delay, cut or refuse
// requests. The server is closed when the test ends.
func InProcess(t testing.TB, wrap ...func(http.Handler) http.Handler) *Registry {
	t.Helper()
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	for _, w := range wrap {
		h = w(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &Registry{Host: strings.TrimPrefix(srv.URL, "http://")}
}
