package registrytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// DistributionBinary is where Debian's docker-registry package installs
// the CNCF distribution registry; $WINLAYER_DOCKER_REGISTRY overrides it.
const DistributionBinary = "/usr/bin/docker-registry"

// Option changes how Distribution configures the registry.
type Option func(*distConfig)

type distConfig struct {
	allowURLs []string
	noAuth    bool
	quiet     bool
}

// AllowManifestURLs sets validation.manifests.urls.allow: manifests whose
// layers carry urls matching one of these regular expressions are
// accepted. Without it, distribution's default validation refuses every
// manifest with urls.
func AllowManifestURLs(regexps ...string) Option {
	return func(c *distConfig) { c.allowURLs = append(c.allowURLs, regexps...) }
}

// NoAuth runs the registry without htpasswd auth.
func NoAuth() Option { return func(c *distConfig) { c.noAuth = true } }

// Quiet logs warnings only, and no access log (a benchmark's registry).
func Quiet() Option { return func(c *distConfig) { c.quiet = true } }

// DistributionPath finds the registry binary ($WINLAYER_DOCKER_REGISTRY,
// DistributionBinary, or docker-registry on $PATH), or says why there is
// none.
func DistributionPath() (string, error) {
	if p := os.Getenv("WINLAYER_DOCKER_REGISTRY"); p != "" {
		return p, nil
	}
	if _, err := os.Stat(DistributionBinary); err == nil {
		return DistributionBinary, nil
	}
	if p, err := exec.LookPath("docker-registry"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s is not installed (apt-get install docker-registry; .ci/run installs it)", DistributionBinary)
}

// Distribution starts Debian's docker-registry (CNCF distribution 2.8.2)
// on 127.0.0.1 on a free port, with htpasswd (bcrypt) auth for a random
// user and password, its default validation (manifests with urls are
// refused unless AllowManifestURLs says otherwise), and filesystem storage
// in a temporary directory. It returns once the registry answers, and stops
// it when the test ends (its log is shown if the test failed). The test is
// skipped, saying why, only when the binary is not installed.
func Distribution(t testing.TB, opts ...Option) *Registry {
	t.Helper()
	bin, err := DistributionPath()
	if err != nil {
		t.Skipf("registrytest: %v", err)
	}
	r, stop, err := Start(t.Context(), bin, t.TempDir(), opts...)
	if err != nil {
		t.Fatalf("registrytest: %v", err)
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("registrytest: log of the registry on %s:\n%s", r.Host, tail(r.LogFile))
		}
	})
	return r
}

// Start is Distribution outside a test (cmd/winbench's registry): it
// starts the distribution binary bin as Distribution does, with its
// storage, configuration and log under dir (created if missing), and
// returns once the registry answers (or ctx is done) with the function
// that stops it. On an error nothing is left running.
func Start(ctx context.Context, bin, dir string, opts ...Option) (*Registry, func(), error) {
	var c distConfig
	for _, o := range opts {
		o(&c)
	}
	r := &Registry{
		Dir:     filepath.Join(dir, "storage"),
		LogFile: filepath.Join(dir, "registry.log"),
	}
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		return nil, nil, err
	}
	if !c.noAuth {
		r.Username = "winlayer-" + randomHex(4)
		r.Password = randomHex(16)
		// The lowest bcrypt cost: distribution checks the hash on every
		// request, and a test makes many.
		hash, err := bcrypt.GenerateFromPassword([]byte(r.Password), bcrypt.MinCost)
		if err != nil {
			return nil, nil, fmt.Errorf("bcrypt: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "htpasswd"), []byte(r.Username+":"+string(hash)+"\n"), 0o600); err != nil {
			return nil, nil, err
		}
	}
	// A free port can be taken by someone else between our probe and the
	// registry's listen: try a few ports.
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, nil, fmt.Errorf("free port: %w", err)
		}
		r.Host = "127.0.0.1:" + strconv.Itoa(port)
		cfg := filepath.Join(dir, "config.yml")
		if err := os.WriteFile(cfg, []byte(configYAML(r, dir, c)), 0o600); err != nil {
			return nil, nil, err
		}
		stop, err := start(ctx, bin, cfg, r)
		if err == nil {
			return r, stop, nil
		}
		if ctx.Err() != nil {
			return nil, nil, err
		}
		lastErr = err
	}
	return nil, nil, fmt.Errorf("starting %s: %w", bin, lastErr)
}

func configYAML(r *Registry, dir string, c distConfig) string {
	logLevel := "info"
	if c.quiet {
		logLevel = "warn"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `version: 0.1
log:
  level: %s
  accesslog:
    disabled: %t
storage:
  filesystem:
    rootdirectory: %q
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %q
  secret: %q
  headers:
    X-Content-Type-Options: [nosniff]
`, logLevel, c.quiet, r.Dir, r.Host, randomHex(16))
	if !c.noAuth {
		fmt.Fprintf(&b, `auth:
  htpasswd:
    realm: winlayer-test
    path: %q
`, filepath.Join(dir, "htpasswd"))
	}
	if len(c.allowURLs) > 0 {
		b.WriteString("validation:\n  manifests:\n    urls:\n      allow:\n")
		for _, re := range c.allowURLs {
			fmt.Fprintf(&b, "        - %q\n", re)
		}
	}
	return b.String()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start runs the registry and waits until it answers /v2/; on success it
// returns the function that stops the process.
func start(ctx context.Context, bin, cfg string, r *Registry) (func(), error) {
	logf, err := os.OpenFile(r.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()

	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case err := <-exited:
			return nil, fmt.Errorf("registry exited before answering (%v); log:\n%s", err, tail(r.LogFile))
		case <-ctx.Done():
			stop()
			return nil, ctx.Err()
		default:
		}
		resp, err := client.Get(r.URL() + "/v2/")
		if err == nil {
			resp.Body.Close()
			// 401 with auth, 200 without: either way it is serving.
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				break
			}
			err = errors.New(resp.Status)
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("registry did not answer on %s within 15s (%v); log:\n%s", r.Host, err, tail(r.LogFile))
		}
		time.Sleep(50 * time.Millisecond)
	}
	return stop, nil
}

// tail is the end of a log file, for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	const max = 4000
	if len(b) > max {
		b = b[len(b)-max:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}
