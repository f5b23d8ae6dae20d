package image

import (
	"context"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// DefaultJobs is how many layers move at once unless Config.Jobs says
// otherwise (docker's default).
const DefaultJobs = 3

// Config is how images move over the network: shared by pull, push and copy.
type Config struct {
	// Insecure lets registries other than localhost and 127.0.0.1 speak
	// plain HTTP.
	Insecure bool
	// Keychain finds credentials; nil means authn.DefaultKeychain
	// ($DOCKER_CONFIG/config.json and credential helpers).
	Keychain authn.Keychain
	// Transport carries the requests; nil means remote.DefaultTransport.
	Transport http.RoundTripper
	// Jobs is how many layers move at once; 0 means DefaultJobs.
	Jobs int
	// UserAgent is sent with every request ("winlayer/<version>").
	UserAgent string
}

// NameOptions are the options to parse references with under c.
func (c Config) NameOptions() []name.Option {
	if c.Insecure {
		return []name.Option{name.Insecure}
	}
	return nil
}

// Parse reads a location under c (see ParseLocation).
func (c Config) Parse(s string) (Location, error) {
	return ParseLocation(s, c.NameOptions()...)
}

// jobs is the effective number of parallel layers.
func (c Config) jobs() int {
	if c.Jobs > 0 {
		return c.Jobs
	}
	return DefaultJobs
}

// RemoteOptions are the go-containerregistry remote options for c: the
// context, credentials, transport, parallelism and user agent.
func (c Config) RemoteOptions(ctx context.Context) []remote.Option {
	kc := c.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(kc),
		remote.WithJobs(c.jobs()),
	}
	if c.Transport != nil {
		opts = append(opts, remote.WithTransport(c.Transport))
	}
	if c.UserAgent != "" {
		opts = append(opts, remote.WithUserAgent(c.UserAgent))
	}
	return opts
}
