package driver

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/winlayer/winlayer/internal/mount"
	"github.com/winlayer/winlayer/layer"
)

// overlayMounter mounts views with overlayfs and sandboxes as
// loop-mounted ext4 images (needs root).
type overlayMounter struct {
	empty string // an empty directory: the second lower of a one-layer read-only view
}

func platformMounter(home string) Mounter { return &overlayMounter{empty: emptyDir(home)} }

func (m *overlayMounter) Mount(ctx context.Context, v layer.View, target string) (string, error) {
	if !v.ReadOnly && len(v.Lower) == 0 {
		// A writable layer without parents: its Files directory is the
		// view, no overlay needed (as overlay2 does for a base layer).
		return v.Upper, nil
	}
	if mount.IsMounted(target) {
		return target, nil
	}
	lowers := v.Lower
	if v.ReadOnly {
		if len(lowers) == 1 {
			// overlayfs wants two lower directories for a read-only mount.
			lowers = []string{lowers[0], m.empty}
		}
		return target, mount.Overlay(target, lowers, "", "")
	}
	if err := os.MkdirAll(v.Work, 0o700); err != nil {
		return "", err
	}
	return target, mount.Overlay(target, lowers, v.Upper, v.Work)
}

func (m *overlayMounter) Unmount(ctx context.Context, id, target string) error {
	return mount.Unmount(target)
}

func (m *overlayMounter) FormatSandbox(ctx context.Context, image string, size int64) error {
	return sizeLimitErr(mount.FormatSandbox(image, size))
}

func (m *overlayMounter) MountSandbox(ctx context.Context, sb layer.Sandbox) error {
	return sizeLimitErr(mount.Sandbox(sb.Image, sb.Dir, 0))
}

func (m *overlayMounter) UnmountSandbox(ctx context.Context, sb layer.Sandbox) error {
	return mount.Unmount(sb.Dir)
}

func (m *overlayMounter) GrowSandbox(ctx context.Context, sb layer.Sandbox, size int64) error {
	return sizeLimitErr(mount.GrowSandbox(sb.Image, sb.Dir, size))
}

// sizeLimitErr marks mount.ErrNotSupported as ErrSizeLimitUnsupported.
func sizeLimitErr(err error) error {
	if errors.Is(err, mount.ErrNotSupported) {
		return fmt.Errorf("%w: %w", ErrSizeLimitUnsupported, err)
	}
	return err
}
