package registrytest

import (
	"bytes"
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

// distributionBinary finds the registry binary, or says why there is none.
func distributionBinary() (string, error) {
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
	var c distConfig
	for _, o := range opts {
		o(&c)
	}
	bin, err := distributionBinary()
	if err != nil {
		t.Skipf("registrytest: %v", err)
	}
	dir := t.TempDir()
	r := &Registry{
		Dir:     filepath.Join(dir, "storage"),
		LogFile: filepath.Join(dir, "registry.log"),
	}
	if !c.noAuth {
		r.Username = "winlayer-" + randomHex(4)
		r.Password = randomHex(16)
		// The lowest bcrypt cost: distribution checks the hash on every
		// request, and a test makes many.
		hash, err := bcrypt.GenerateFromPassword([]byte(r.Password), bcrypt.MinCost)
		if err != nil {
			t.Fatalf("registrytest: bcrypt: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "htpasswd"), []byte(r.Username+":"+string(hash)+"\n"), 0o600); err != nil {
			t.Fatalf("registrytest: %v", err)
		}
	}
	// A free port can be taken by someone else between our probe and the
	// registry's listen: try a few ports.
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("registrytest: free port: %v", err)
		}
		r.Host = "127.0.0.1:" + strconv.Itoa(port)
		cfg := filepath.Join(dir, "config.yml")
		if err := os.WriteFile(cfg, []byte(configYAML(r, dir, c)), 0o600); err != nil {
			t.Fatalf("registrytest: %v", err)
		}
		lastErr = start(t, bin, cfg, r)
		if lastErr == nil {
			return r
		}
	}
	t.Fatalf("registrytest: starting %s: %v", bin, lastErr)
	return nil
}

func configYAML(r *Registry, dir string, c distConfig) string {
	var b strings.Builder
	fmt.Fprintf(&b, `version: 0.1
log:
  level: info
  accesslog:
    disabled: false
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
`, r.Dir, r.Host, randomHex(16))
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

// start runs the registry and waits until it answers /v2/; on success the
// process is stopped in t.Cleanup.
func start(t testing.TB, bin, cfg string, r *Registry) error {
	logf, err := os.OpenFile(r.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, "serve", cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
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
			return fmt.Errorf("registry exited before answering (%v); log:\n%s", err, tail(r.LogFile))
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
			return fmt.Errorf("registry did not answer on %s within 15s (%v); log:\n%s", r.Host, err, tail(r.LogFile))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("registrytest: log of the registry on %s:\n%s", r.Host, tail(r.LogFile))
		}
	})
	return nil
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
