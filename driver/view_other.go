//go:build !linux && !windows

package driver

import (
	"context"
	"io"

	"github.com/winlayer/winlayer/internal/mount"
)

func (d *Driver) mountView(id string) (string, error) { return "", mount.ErrNotSupported }

func (d *Driver) unmountView(id, path string) error { return mount.ErrNotSupported }

func (d *Driver) importLayer(id string, chain []string, r io.Reader) (int64, error) {
	return applyInline(d.home, id, chain, r)
}

func (d *Driver) exportLayer(id string) (io.ReadCloser, error) {
	return d.store.Export(context.Background(), id)
}
