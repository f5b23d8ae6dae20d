//go:build !windows

package driver

import (
	"context"
	"io"
)

// importLayer imports a tar as the content of layer id (in this process).
func (d *Driver) importLayer(id string, chain []string, r io.Reader) (int64, error) {
	return applyInline(d.home, id, chain, r)
}

// exportLayer returns the tar of layer id.
func (d *Driver) exportLayer(id string) (io.ReadCloser, error) {
	return d.store.Export(context.Background(), id)
}
