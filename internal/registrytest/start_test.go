package registrytest

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStart: the registry Start runs outside a test (winbench's: no auth,
// quiet log) serves under dir, logs no access lines, and is gone once
// stop returns.
func TestStart(t *testing.T) {
	bin, err := DistributionPath()
	if err != nil {
		t.Skipf("%v", err)
	}
	dir := filepath.Join(t.TempDir(), "registry")
	r, stop, err := Start(context.Background(), bin, dir, NoAuth(), Quiet())
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()
	if r.Username != "" || r.Dir != filepath.Join(dir, "storage") || r.LogFile != filepath.Join(dir, "registry.log") {
		t.Errorf("registry %+v", r)
	}
	pushPull(t, r)
	cfg, err := os.ReadFile(filepath.Join(dir, "config.yml"))
	if err != nil || !strings.Contains(string(cfg), "level: warn") || strings.Contains(string(cfg), "htpasswd") {
		t.Errorf("config.yml of a quiet registry without auth:\n%s (%v)", cfg, err)
	}
	if log, _ := os.ReadFile(r.LogFile); strings.Contains(string(log), `"GET /v2/`) {
		t.Errorf("access lines in a quiet registry's log:\n%s", log)
	}
	stop()
	stopped = true
	if _, err := http.Get(r.URL() + "/v2/"); err == nil {
		t.Errorf("registry on %s still answers after stop", r.Host)
	}
}

// TestStartCancelled: a ctx already done stops the wait and the process:
// Start returns ctx's error and nothing answers.
func TestStartCancelled(t *testing.T) {
	bin, err := DistributionPath()
	if err != nil {
		t.Skipf("%v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, stop, err := Start(ctx, bin, t.TempDir())
	if !errors.Is(err, context.Canceled) || r != nil || stop != nil {
		t.Fatalf("Start with a cancelled ctx: %v, %v", r, err)
	}
}
