package main

import (
	"context"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/winlayer/winlayer/internal/registrytest"
)

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
// 127.0.0.1 with its storage under dir (internal/registrytest's Start, no
// auth, default validation, warnings only in its log), and waits until it
// answers. When the binary is absent it falls back to
// go-containerregistry's in-process registry (blobs on disk under dir),
// and says so in Kind.
func startRegistry(ctx context.Context, dir string) (*benchRegistry, error) {
	bin, err := registrytest.DistributionPath()
	if err != nil {
		return startInProcessRegistry(dir)
	}
	r, stop, err := registrytest.Start(ctx, bin, filepath.Join(dir, "registry"), registrytest.NoAuth(), registrytest.Quiet())
	if err != nil {
		return nil, err
	}
	version := "distribution"
	if out, err := exec.Command(bin, "--version").Output(); err == nil {
		version = string(trimLine(out))
	}
	return &benchRegistry{Host: r.Host, Kind: version + " (" + bin + ")", stop: func() error { stop(); return nil }}, nil
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
		Kind: "go-containerregistry pkg/registry in process (" + registrytest.DistributionBinary + " is absent)",
		stop: func() error { srv.Close(); return nil },
	}, nil
}

func trimLine(b []byte) []byte {
	for i, c := range b {
		if c == '\n' || c == '\r' {
			return b[:i]
		}
	}
	return b
}
