package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

// registryBinary is Debian's CNCF distribution registry (apt package
// docker-registry).
const registryBinary = "/usr/bin/docker-registry"

// benchRegistry is a registry serving on 127.0.0.1 for the benchmark.
type benchRegistry struct {
	// Host is 127.0.0.1:PORT.
	Host string
	// Kind says what serves: "distribution <version>" or the in-process
	// fallback.
	Kind string
	stop func() error
}

// Close stops the registry.
func (r *benchRegistry) Close() error { return r.stop() }

// startRegistry starts Debian's docker-registry binary on a free port of
// 127.0.0.1 with its storage under dir (no auth; default validation),
// and waits until it answers. When the binary is absent it falls back to
// go-containerregistry's in-process registry (blobs on disk under dir),
// and says so in Kind.
func startRegistry(ctx context.Context, dir string) (*benchRegistry, error) {
	if _, err := os.Stat(registryBinary); errors.Is(err, os.ErrNotExist) {
		return startInProcessRegistry(dir)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	host := "127.0.0.1:" + strconv.Itoa(port)
	storage := filepath.Join(dir, "registry")
	if err := os.MkdirAll(storage, 0o755); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "registry.yml")
	yml := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n", storage, host)
	if err := os.WriteFile(conf, []byte(yml), 0o644); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(registryBinary, "serve", conf)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", registryBinary, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()
	stop := func() error {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		return nil
	}
	version := "distribution"
	if out, err := exec.Command(registryBinary, "--version").Output(); err == nil {
		version = string(trimLine(out))
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return &benchRegistry{Host: host, Kind: version + " (" + registryBinary + ")", stop: stop}, nil
			}
		}
		select {
		case err := <-exited:
			exited <- err
			return nil, fmt.Errorf("%s exited before it answered: %v (see %s)", registryBinary, err, logf.Name())
		case <-ctx.Done():
			stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("%s on %s did not answer within 15 s (see %s)", registryBinary, host, logf.Name())
		}
	}
}

// startInProcessRegistry serves go-containerregistry's registry from this
// process on 127.0.0.1, blobs on disk under dir.
func startInProcessRegistry(dir string) (*benchRegistry, error) {
	blobs := filepath.Join(dir, "registry")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := httptest.NewUnstartedServer(registry.New(registry.WithBlobHandler(registry.NewDiskBlobHandler(blobs))))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	return &benchRegistry{
		Host: l.Addr().String(),
		Kind: "go-containerregistry pkg/registry in process (" + registryBinary + " is absent)",
		stop: func() error { srv.Close(); return nil },
	}, nil
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func trimLine(b []byte) []byte {
	for i, c := range b {
		if c == '\n' || c == '\r' {
			return b[:i]
		}
	}
	return b
}
