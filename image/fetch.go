package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ErrForeignURLsForbidden is returned when a foreign layer is not in the
// registry and its URLs may not be used (--no-foreign-urls).
var ErrForeignURLsForbidden = errors.New("the layer is only at its foreign URLs, which --no-foreign-urls forbids")

// errBlobNotFound marks a blob the source does not have, so that a foreign
// layer's URLs are tried next.
var errBlobNotFound = errors.New("blob not found")

// IsForeign reports whether mt is a foreign (Docker) or non-distributable
// (OCI) layer media type, zstd and uncompressed variants included.
func IsForeign(mt types.MediaType) bool {
	s := string(mt)
	return strings.HasPrefix(s, "application/vnd.docker.image.rootfs.foreign.") ||
		strings.HasPrefix(s, "application/vnd.oci.image.layer.nondistributable.")
}

// blobClient fetches blobs of one registry repository over an
// authenticated transport (one token for the whole pull).
type blobClient struct {
	repo   name.Repository
	client *http.Client
}

func newBlobClient(ctx context.Context, repo name.Repository, cfg Config) (*blobClient, error) {
	kc := cfg.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	auth, err := authn.Resolve(ctx, kc, repo)
	if err != nil {
		return nil, fmt.Errorf("credentials for %s: %w", repo, err)
	}
	rt := cfg.baseTransport()
	tr, err := transport.NewWithContext(ctx, repo.Registry, auth, rt, []string{repo.Scope(transport.PullScope)})
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", repo.RegistryStr(), err)
	}
	return &blobClient{repo: repo, client: &http.Client{Transport: tr}}, nil
}

// open GETs the blob d; a 404 wraps errBlobNotFound.
func (c *blobClient) open(ctx context.Context, d v1.Hash) (io.ReadCloser, error) {
	u := fmt.Sprintf("%s://%s/v2/%s/blobs/%s", c.repo.Registry.Scheme(), c.repo.RegistryStr(), c.repo.RepositoryStr(), d)
	return get(ctx, c.client, u)
}

// get GETs u and returns the body of a 200 answer.
func get(ctx context.Context, client *http.Client, u string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusOK {
		return resp.Body, nil
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	resp.Body.Close()
	err = fmt.Errorf("GET %s: %s %s", u, resp.Status, strings.TrimSpace(string(msg)))
	if resp.StatusCode == http.StatusNotFound {
		err = fmt.Errorf("%w: %w", errBlobNotFound, err)
	}
	return nil, err
}

// baseTransport is the transport requests go through before
// authentication: Config.Transport, else remote.DefaultTransport, with the
// user agent.
func (c Config) baseTransport() http.RoundTripper {
	rt := c.Transport
	if rt == nil {
		rt = remote.DefaultTransport
	}
	if c.UserAgent != "" {
		rt = transport.NewUserAgent(rt, c.UserAgent)
	}
	return rt
}

// openForeign tries the URLs of a foreign layer in order and returns the
// first body served.
func openForeign(ctx context.Context, cfg Config, d v1.Descriptor) (io.ReadCloser, error) {
	if len(d.URLs) == 0 {
		return nil, fmt.Errorf("%w and the descriptor lists no urls", errBlobNotFound)
	}
	client := &http.Client{Transport: cfg.baseTransport()}
	var errs []error
	for _, u := range d.URLs {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			errs = append(errs, fmt.Errorf("url %q: not http or https", u))
			continue
		}
		rc, err := get(ctx, client, u)
		if err == nil {
			return rc, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("foreign layer urls: %w", errors.Join(errs...))
}

// withForeign wraps a blob opener: a foreign layer the source does not
// have is fetched from its URLs, unless noURLs.
func withForeign(cfg Config, noURLs bool, open func(context.Context, v1.Descriptor) (io.ReadCloser, error)) func(context.Context, v1.Descriptor) (io.ReadCloser, error) {
	return func(ctx context.Context, d v1.Descriptor) (io.ReadCloser, error) {
		rc, err := open(ctx, d)
		if err == nil || !IsForeign(d.MediaType) || ctx.Err() != nil {
			return rc, err
		}
		if noURLs {
			return nil, fmt.Errorf("%w (%v)", ErrForeignURLsForbidden, err)
		}
		rc, ferr := openForeign(ctx, cfg, d)
		if ferr != nil {
			return nil, fmt.Errorf("not in the source (%v); %w", err, ferr)
		}
		return rc, nil
	}
}
