package driver

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/Microsoft/hcsshim"
	"github.com/Microsoft/hcsshim/pkg/ociwclayer"

	"github.com/winlayer/winlayer/internal/mount"
	"github.com/winlayer/winlayer/layer"
)

// On Windows the views, imports and exports are the real thing: hcsshim
// activates and prepares a layer over its parents (the storage filter
// driver gives the mount path), and ociwclayer imports and exports layer
// tars through the Windows backup APIs, as moby's windowsfilter does.

// hcsMounter mounts views with hcsshim.
type hcsMounter struct{ home string }

func platformMounter(home string) Mounter { return &hcsMounter{home: home} }

func (m *hcsMounter) info() hcsshim.DriverInfo {
	return hcsshim.DriverInfo{HomeDir: m.home, Flavour: 1}
}

// Mount activates and prepares the layer and returns its mount path (the
// layer directory when the volume has no mount path).
func (m *hcsMounter) Mount(ctx context.Context, v layer.View, target string) (string, error) {
	if err := hcsshim.ActivateLayer(m.info(), v.ID); err != nil {
		return "", err
	}
	if err := hcsshim.PrepareLayer(m.info(), v.ID, v.Parents); err != nil {
		if derr := hcsshim.DeactivateLayer(m.info(), v.ID); derr != nil {
			return "", fmt.Errorf("%w (deactivate: %v)", err, derr)
		}
		return "", err
	}
	p, err := hcsshim.GetLayerMountPath(m.info(), v.ID)
	if err != nil {
		hcsshim.UnprepareLayer(m.info(), v.ID)
		hcsshim.DeactivateLayer(m.info(), v.ID)
		return "", err
	}
	if p == "" {
		p = v.Dir
	}
	return p, nil
}

// Unmount unprepares and deactivates the layer.
func (m *hcsMounter) Unmount(ctx context.Context, id, target string) error {
	if err := hcsshim.UnprepareLayer(m.info(), id); err != nil {
		return err
	}
	return hcsshim.DeactivateLayer(m.info(), id)
}

// Sandboxes are not made here on Windows (hcsshim's sandbox.vhdx is not
// wired): CreateReadWrite reports ErrSizeLimitUnsupported.

func (m *hcsMounter) FormatSandbox(ctx context.Context, image string, size int64) error {
	return fmt.Errorf("%w: %w", ErrSizeLimitUnsupported, mount.ErrNotSupported)
}

func (m *hcsMounter) MountSandbox(ctx context.Context, sb layer.Sandbox) error {
	return fmt.Errorf("%w: %w", ErrSizeLimitUnsupported, mount.ErrNotSupported)
}

func (m *hcsMounter) UnmountSandbox(ctx context.Context, sb layer.Sandbox) error { return nil }

func (m *hcsMounter) GrowSandbox(ctx context.Context, sb layer.Sandbox, size int64) error {
	return fmt.Errorf("%w: %w", ErrSizeLimitUnsupported, mount.ErrNotSupported)
}

// importLayer imports a tar into layer id with hcsshim's importer.
func (d *Driver) importLayer(id string, chain []string, r io.Reader) (int64, error) {
	return ociwclayer.ImportLayerFromTar(context.Background(), r, filepath.Join(d.home, id), chain)
}

// exportLayer exports layer id with hcsshim's exporter.
func (d *Driver) exportLayer(id string) (io.ReadCloser, error) {
	chain, err := layer.ReadChain(d.dir(id))
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(ociwclayer.ExportLayerToTar(context.Background(), pw, d.dir(id), chain))
	}()
	return pr, nil
}
