package driver

import (
	"context"
	"log/slog"

	"github.com/winlayer/winlayer/layer"
)

// Mounter executes the store's plan of a layer's view ([layer.View]), the
// way containerd's overlay snapshotter hands its mounts to a mounter: the
// driver decides what is mounted where, the Mounter does it. The
// default is overlayfs and loop-mounted ext4 on Linux and hcsshim on
// Windows; tests pass another one with [WithMounter] (see
// driver/drivertest for one that needs no privilege). A Mounter must be
// safe for concurrent use on distinct targets.
type Mounter interface {
	// Mount makes the view v available at target, an empty directory the
	// driver made, and returns the path of the view: target, or a
	// directory the backend chose (a writable view with no lower
	// directories may be its upper directory itself). The sandboxes of
	// v are mounted already. A target mounted already (by an earlier
	// process) is reused.
	Mount(ctx context.Context, v layer.View, target string) (string, error)
	// Unmount releases the view of layer id at target. A view that is
	// not mounted is not an error.
	Unmount(ctx context.Context, id, target string) error
	// FormatSandbox makes a sandbox image of size bytes at image (a new
	// file) holding an empty directory Files (mode 0755). It runs inside
	// the store's commit of the new layer. Where size limits cannot be
	// enforced the error wraps [ErrSizeLimitUnsupported].
	FormatSandbox(ctx context.Context, image string, size int64) error
	// MountSandbox mounts the sandbox file system sb (one mounted
	// already is not an error). Where it cannot be done the error wraps
	// [ErrSizeLimitUnsupported].
	MountSandbox(ctx context.Context, sb layer.Sandbox) error
	// UnmountSandbox unmounts sb (not mounted is not an error).
	UnmountSandbox(ctx context.Context, sb layer.Sandbox) error
	// GrowSandbox raises sb's size limit to size bytes (never lowers it).
	GrowSandbox(ctx context.Context, sb layer.Sandbox, size int64) error
}

// Option configures [New].
type Option func(*config)

type config struct {
	mounter Mounter
	log     *slog.Logger
}

// WithMounter makes the driver execute its views through m instead of the
// platform's mounter.
func WithMounter(m Mounter) Option { return func(c *config) { c.mounter = m } }

// WithLogger sets the logger of the driver and its store for warnings
// (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }
