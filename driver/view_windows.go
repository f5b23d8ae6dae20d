package driver

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/Microsoft/hcsshim"
	"github.com/Microsoft/hcsshim/pkg/ociwclayer"

	"github.com/winlayer/winlayer/layer"
)

// On Windows the views, imports and exports are the real thing: hcsshim
// activates and prepares a layer over its parents (the storage filter
// driver gives the mount path), and ociwclayer imports and exports layer
// tars through the Windows backup APIs, as moby's windowsfilter does.

func (d *Driver) info() hcsshim.DriverInfo {
	return hcsshim.DriverInfo{HomeDir: d.home, Flavour: 1}
}

// mountView activates and prepares layer id and returns its mount path
// (the layer directory when the volume has no mount path).
func (d *Driver) mountView(id string) (string, error) {
	chain, err := layer.ReadChain(d.dir(id))
	if err != nil {
		return "", err
	}
	if err := hcsshim.ActivateLayer(d.info(), id); err != nil {
		return "", err
	}
	if err := hcsshim.PrepareLayer(d.info(), id, chain); err != nil {
		if derr := hcsshim.DeactivateLayer(d.info(), id); derr != nil {
			return "", fmt.Errorf("%w (deactivate: %v)", err, derr)
		}
		return "", err
	}
	p, err := hcsshim.GetLayerMountPath(d.info(), id)
	if err != nil {
		hcsshim.UnprepareLayer(d.info(), id)
		hcsshim.DeactivateLayer(d.info(), id)
		return "", err
	}
	if p == "" {
		p = d.dir(id)
	}
	return p, nil
}

// unmountView unprepares and deactivates layer id.
func (d *Driver) unmountView(id, path string) error {
	if err := hcsshim.UnprepareLayer(d.info(), id); err != nil {
		return err
	}
	return hcsshim.DeactivateLayer(d.info(), id)
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
