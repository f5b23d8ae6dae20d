package driver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/winlayer/winlayer/layer"
)

// Get returns the path of layer id's view, mounting it on first use; every
// Get needs a Put. Views of imported layers are read-only.
func (d *Driver) Get(id, mountLabel string) (string, error) {
	rid, err := d.resolve(id)
	if err != nil {
		return "", err
	}
	defer d.lock(rid)()
	d.mu.Lock()
	if m, ok := d.mounts[rid]; ok {
		m.count++
		d.mu.Unlock()
		return m.path, nil
	}
	d.mu.Unlock()
	if !d.store.Exists(rid) {
		return "", fmt.Errorf("get %s: %w", id, layer.ErrNotExist)
	}
	ctx := context.Background()
	v, err := d.view(ctx, rid)
	if err != nil {
		return "", fmt.Errorf("get %s: %w", id, err)
	}
	target := d.mountPath(rid)
	if err := os.MkdirAll(target, 0o755); err != nil {
		return "", fmt.Errorf("get %s: %w", id, err)
	}
	p, err := d.mounter.Mount(ctx, v, target)
	if err != nil {
		return "", fmt.Errorf("get %s: %w", id, err)
	}
	d.mu.Lock()
	d.mounts[rid] = &mountRef{count: 1, path: p}
	d.mu.Unlock()
	return p, nil
}

// Put releases a view taken with Get; the last Put unmounts it. Unknown
// ids and views not mounted are not an error.
func (d *Driver) Put(id string) error {
	rid, err := d.resolve(id)
	if err != nil {
		return err
	}
	defer d.lock(rid)()
	d.mu.Lock()
	m, ok := d.mounts[rid]
	if !ok {
		d.mu.Unlock()
		return nil
	}
	if m.count--; m.count > 0 {
		d.mu.Unlock()
		return nil
	}
	delete(d.mounts, rid)
	d.mu.Unlock()
	if err := d.mounter.Unmount(context.Background(), rid, d.mountPath(rid)); err != nil {
		return fmt.Errorf("put %s: %w", id, err)
	}
	return nil
}

// Remove deletes layer id (resolved): its view and sandbox are unmounted,
// the directory renamed to <id>-removing and deleted. Unknown ids are not
// an error. As moby expects of a graph driver (its layer store counts the
// references), a layer other layers name as parent is removed too; that
// is logged as a warning naming them.
func (d *Driver) Remove(id string) error {
	rid, err := d.resolve(id)
	if err != nil {
		return err
	}
	defer d.lock(rid)()
	d.mu.Lock()
	delete(d.mounts, rid)
	delete(d.resolved, id)
	delete(d.resolved, rid)
	delete(d.views, rid)
	d.mu.Unlock()
	ctx := context.Background()
	if err := d.mounter.Unmount(ctx, rid, d.mountPath(rid)); err != nil {
		return fmt.Errorf("remove %s: %w", id, err)
	}
	os.Remove(d.mountPath(rid))
	if v, err := d.store.View(ctx, rid); err == nil {
		if sb, ok := ownSandbox(v); ok {
			if err := d.mounter.UnmountSandbox(ctx, sb); err != nil {
				return fmt.Errorf("remove %s: %w", id, err)
			}
		}
	}
	broken, err := d.store.RemoveForce(ctx, rid)
	if len(broken) > 0 {
		d.log.Warn("windowsfilter: removed a layer that other layers name as parent", "layer", rid, "dependants", broken)
	}
	return err
}

// ownSandbox returns the sandbox of the view's own layer, if it is one.
func ownSandbox(v layer.View) (layer.Sandbox, bool) {
	if len(v.Sandboxes) > 0 && v.Sandboxes[0].ID == v.ID && filepath.Dir(filepath.Dir(v.Sandboxes[0].Dir)) == v.Dir {
		return v.Sandboxes[0], true
	}
	return layer.Sandbox{}, false
}

// Cleanup unmounts every view and sandbox and removes the debris of
// interrupted imports and removals.
func (d *Driver) Cleanup() error {
	d.mu.Lock()
	d.mounts = map[string]*mountRef{}
	d.views = map[string]layer.View{}
	d.mu.Unlock()
	ctx := context.Background()
	var errs []error
	if des, err := os.ReadDir(d.mountRoot()); err == nil {
		for _, de := range des {
			p := filepath.Join(d.mountRoot(), de.Name())
			if err := d.mounter.Unmount(ctx, de.Name(), p); err != nil {
				errs = append(errs, err)
			}
			os.Remove(p)
		}
	}
	if infos, err := d.store.List(ctx); err == nil {
		for _, in := range infos {
			v, err := d.store.View(ctx, in.ID)
			if err != nil {
				continue
			}
			if sb, ok := ownSandbox(v); ok {
				if err := d.mounter.UnmountSandbox(ctx, sb); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	errs = append(errs, d.store.Cleanup(ctx))
	return errors.Join(errs...)
}
