package driver

import (
	"context"
	"fmt"
	"strings"

	units "github.com/docker/go-units"

	"github.com/winlayer/winlayer/layer"
)

// CreateReadWrite creates a sandbox id on parent: an empty layer whose
// writable Files live on a file system limited to the size storage option
// (opts.StorageOpt["size"], else the driver default). The store lays the
// sandbox out in staging and commits it with the layer; the driver then
// mounts its file system.
func (d *Driver) CreateReadWrite(id, parent string, opts *CreateOpts) error {
	size := d.defaultSize
	if opts != nil {
		for k, v := range opts.StorageOpt {
			if !strings.EqualFold(k, "size") {
				return fmt.Errorf("create %s: unknown storage option %q", id, k)
			}
			n, err := units.RAMInBytes(v)
			if err != nil {
				return fmt.Errorf("create %s: failed to parse storage options: %w", id, err)
			}
			if n > 0 {
				size = n
			}
		}
	}
	defer d.lock(id)()
	chain, err := d.chainFor(parent)
	if err != nil {
		return fmt.Errorf("create %s: %w", id, err)
	}
	ctx := context.Background()
	format := func(image string, size int64) error { return d.mounter.FormatSandbox(ctx, image, size) }
	if err := d.store.Create(ctx, id, chain, layer.WithSandbox(size, format)); err != nil {
		return err
	}
	d.forget(id)
	if _, err := d.view(ctx, id); err != nil {
		if _, rerr := d.store.RemoveForce(ctx, id); rerr != nil {
			d.log.Warn("windowsfilter: sandbox left after a failed create", "layer", id, "err", rerr)
		}
		return fmt.Errorf("create %s: %w", id, err)
	}
	return nil
}

// ExpandSandboxSize raises the size limit of sandbox id to size bytes
// (hcsshim's ExpandSandboxSize); limits are never lowered. The sandbox's
// view must not be mounted (layer.ErrInUse). It fails with
// ErrSizeLimitUnsupported (wrapped) for a layer that is not a sandbox or
// where the host cannot grow one.
func (d *Driver) ExpandSandboxSize(id string, size int64) error {
	rid, err := d.resolve(id)
	if err != nil {
		return err
	}
	defer d.lock(rid)()
	ctx := context.Background()
	v, err := d.view(ctx, rid)
	if err != nil {
		return fmt.Errorf("expand %s: %w", id, err)
	}
	sb, ok := ownSandbox(v)
	if !ok {
		return fmt.Errorf("expand %s: not a sandbox: %w", id, ErrSizeLimitUnsupported)
	}
	d.mu.Lock()
	_, mounted := d.mounts[rid]
	d.mu.Unlock()
	if mounted {
		// Growing may need the sandbox's file system offline.
		return fmt.Errorf("expand %s: the layer's view is mounted (Put it first): %w", id, layer.ErrInUse)
	}
	if err := d.mounter.GrowSandbox(ctx, sb, size); err != nil {
		return fmt.Errorf("expand %s: %w", id, err)
	}
	return nil
}
