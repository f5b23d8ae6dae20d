//go:build !linux && !windows

package driver

import (
	"context"
	"fmt"

	"github.com/winlayer/winlayer/internal/mount"
	"github.com/winlayer/winlayer/layer"
)

// noMounter is the mounter of systems without one: every call fails with
// mount.ErrNotSupported.
type noMounter struct{}

func platformMounter(home string) Mounter { return noMounter{} }

func (noMounter) Mount(ctx context.Context, v layer.View, target string) (string, error) {
	return "", mount.ErrNotSupported
}

func (noMounter) Unmount(ctx context.Context, id, target string) error { return nil }

func (noMounter) FormatSandbox(ctx context.Context, image string, size int64) error {
	return fmt.Errorf("%w: %w", ErrSizeLimitUnsupported, mount.ErrNotSupported)
}

func (noMounter) MountSandbox(ctx context.Context, sb layer.Sandbox) error {
	return fmt.Errorf("%w: %w", ErrSizeLimitUnsupported, mount.ErrNotSupported)
}

func (noMounter) UnmountSandbox(ctx context.Context, sb layer.Sandbox) error { return nil }

func (noMounter) GrowSandbox(ctx context.Context, sb layer.Sandbox, size int64) error {
	return fmt.Errorf("%w: %w", ErrSizeLimitUnsupported, mount.ErrNotSupported)
}
