package driver

import (
	"context"
	"io"
	"os"
	"path/filepath"

	"github.com/winlayer/winlayer/internal/mount"
	"github.com/winlayer/winlayer/layer"
)

// mountView mounts the overlay view of layer id and returns its path.
func (d *Driver) mountView(id string) (string, error) {
	v, err := d.viewInfo(id)
	if err != nil {
		return "", err
	}
	chain, files, dirty := v.chain, v.files, v.dirty
	if dirty && len(chain) == 0 {
		// A writable layer without parents: its Files directory is the
		// view, no overlay needed (as overlay2 does for a base layer).
		return files, nil
	}
	target := d.mountPath(id)
	if err := os.MkdirAll(target, 0o755); err != nil {
		return "", err
	}
	if mount.IsMounted(target) {
		return target, nil
	}
	lowers := append([]string(nil), v.lowers...)
	if !dirty {
		// An imported layer: read-only, so that its export stays the
		// imported bytes.
		lowers = append([]string{files}, lowers...)
		if len(lowers) == 1 {
			lowers = append(lowers, d.emptyDir())
		}
		return target, mount.Overlay(target, lowers, "", "")
	}
	if len(lowers) == 0 {
		lowers = []string{d.emptyDir()}
	}
	work := filepath.Join(filepath.Dir(files), ".work-"+id)
	if err := os.MkdirAll(work, 0o700); err != nil {
		return "", err
	}
	return target, mount.Overlay(target, lowers, files, work)
}

func (d *Driver) viewInfo(id string) (*viewInfo, error) {
	d.mu.Lock()
	v, ok := d.views[id]
	d.mu.Unlock()
	if ok {
		return v, nil
	}
	chain, err := layer.ReadChain(d.dir(id))
	if err != nil {
		return nil, err
	}
	for _, p := range chain {
		if err := d.ensureSandbox(filepath.Base(p)); err != nil {
			return nil, err
		}
	}
	if err := d.ensureSandbox(id); err != nil {
		return nil, err
	}
	v = &viewInfo{chain: chain, dirty: d.store.IsDirty(id), files: filepath.Join(d.dir(id), "Files")}
	if real, err := filepath.EvalSymlinks(v.files); err == nil {
		v.files = real
	}
	for _, p := range chain {
		lf := filepath.Join(p, "Files")
		if real, err := filepath.EvalSymlinks(lf); err == nil {
			lf = real
		}
		v.lowers = append(v.lowers, lf)
	}
	d.mu.Lock()
	d.views[id] = v
	d.mu.Unlock()
	return v, nil
}

// unmountView unmounts a view (a view that is the layer's own directory
// was never mounted).
func (d *Driver) unmountView(id, path string) error {
	if path != d.mountPath(id) {
		return nil
	}
	return mount.Unmount(path)
}

// importLayer imports a tar as the content of layer id (in this process).
func (d *Driver) importLayer(id string, chain []string, r io.Reader) (int64, error) {
	return applyInline(d.home, id, chain, r)
}

// exportLayer returns the tar of layer id.
func (d *Driver) exportLayer(id string) (io.ReadCloser, error) {
	return d.store.Export(context.Background(), id)
}
