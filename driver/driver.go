package driver

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	units "github.com/docker/go-units"

	"github.com/winlayer/winlayer/internal/mount"
	"github.com/winlayer/winlayer/layer"
)

// ErrSizeLimitUnsupported is returned (wrapped) by CreateReadWrite when a
// sandbox size limit is asked for and the host cannot enforce one (not
// root, no loop devices or no mkfs.ext4).
var ErrSizeLimitUnsupported = errors.New("sandbox size limit not supported on this host")

// ErrNotExist reports an unknown layer id.
var ErrNotExist = layer.ErrNotExist

// defaultSandboxSize is moby's default for the size storage option.
const defaultSandboxSize = "127GB"

// CreateOpts are the options of Create and CreateReadWrite.
type CreateOpts struct {
	MountLabel string
	StorageOpt map[string]string
}

// ChangeKind is the kind of a Change.
type ChangeKind int

// Change kinds, with moby's values.
const (
	ChangeModify ChangeKind = 0
	ChangeAdd    ChangeKind = 1
	ChangeDelete ChangeKind = 2
)

// String returns "C", "A" or "D" as docker diff prints them.
func (k ChangeKind) String() string {
	switch k {
	case ChangeModify:
		return "C"
	case ChangeAdd:
		return "A"
	case ChangeDelete:
		return "D"
	}
	return fmt.Sprintf("ChangeKind(%d)", int(k))
}

// Change is one changed path of a layer relative to its parent:
// slash-separated, rooted at "/" of the view.
type Change struct {
	Path string
	Kind ChangeKind
}

// FileGetCloser serves a layer's payloads by their tar names.
type FileGetCloser interface {
	Get(name string) (io.ReadCloser, error)
	Close() error
}

// Driver is the windowsfilter driver over one home directory.
type Driver struct {
	home        string
	store       *layer.Store
	defaultSize int64

	mu       sync.Mutex
	locks    map[string]*idLock
	mounts   map[string]*mountRef
	resolved map[string]string
	views    map[string]*viewInfo
}

type idLock struct {
	mu   sync.Mutex
	refs int
}

type mountRef struct {
	count int
	path  string
}

// New opens the driver in home. options are the daemon's --storage-opt
// strings: "size=<bytes>" (go-units RAMInBytes, default 127GB) sets the
// default sandbox size; any other option is an error.
func New(home string, options []string) (*Driver, error) {
	size, err := units.RAMInBytes(defaultSandboxSize)
	if err != nil {
		return nil, err
	}
	for _, o := range options {
		k, v, ok := strings.Cut(o, "=")
		if !ok {
			return nil, fmt.Errorf("windowsfilter: storage option %q: want key=value", o)
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "size":
			if size, err = units.RAMInBytes(strings.TrimSpace(v)); err != nil {
				return nil, fmt.Errorf("windowsfilter failed to parse default storage options: %w", err)
			}
		default:
			return nil, fmt.Errorf("windowsfilter: unknown storage option %q", k)
		}
	}
	s, err := layer.Open(home)
	if err != nil {
		return nil, err
	}
	d := &Driver{home: s.Home(), store: s, defaultSize: size, locks: map[string]*idLock{}, mounts: map[string]*mountRef{}, resolved: map[string]string{}, views: map[string]*viewInfo{}}
	for _, dir := range []string{d.mountRoot(), d.emptyDir()} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// Store returns the layer store under the driver.
func (d *Driver) Store() *layer.Store { return d.store }

func (d *Driver) mountRoot() string          { return filepath.Join(d.home, ".mounts") }
func (d *Driver) emptyDir() string           { return filepath.Join(d.home, ".empty") }
func (d *Driver) mountPath(id string) string { return filepath.Join(d.mountRoot(), id) }
func (d *Driver) dir(id string) string       { return d.store.Dir(id) }
func (d *Driver) sandboxDir(id string) string {
	return filepath.Join(d.dir(id), ".winlayer", "sandbox")
}
func (d *Driver) sandboxImage(id string) string {
	return filepath.Join(d.dir(id), ".winlayer", "sandbox.img")
}

// lock serialises the operations on one id.
func (d *Driver) lock(id string) func() {
	d.mu.Lock()
	l, ok := d.locks[id]
	if !ok {
		l = &idLock{}
		d.locks[id] = l
	}
	l.refs++
	d.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		d.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(d.locks, id)
		}
		d.mu.Unlock()
	}
}

// viewInfo is what mounting a layer's view needs, computed once per layer
// (sandboxes mounted, symlinks resolved) and cached until the layer
// changes (ApplyDiff, CreateReadWrite, Remove).
type viewInfo struct {
	chain  []string
	lowers []string
	files  string
	dirty  bool
}

// forget drops what the driver cached about layer id.
func (d *Driver) forget(id string) {
	d.mu.Lock()
	delete(d.views, id)
	d.mu.Unlock()
}

// String returns "windowsfilter".
func (d *Driver) String() string { return "windowsfilter" }

// Status returns moby's ("Windows", "") row and winlayer's own.
func (d *Driver) Status() [][2]string {
	infos, _ := d.store.List()
	return [][2]string{{"Windows", ""}, {"Home", d.home}, {"Layers", fmt.Sprint(len(infos))},
		{"Default sandbox size", units.BytesSize(float64(d.defaultSize))}}
}

// resolve returns the id a layer's layerID file points to, or id. The
// answer for an existing layer is cached (a layer's layerID never changes;
// Remove forgets it).
func (d *Driver) resolve(id string) (string, error) {
	d.mu.Lock()
	rid, ok := d.resolved[id]
	d.mu.Unlock()
	if ok {
		return rid, nil
	}
	rid, err := d.store.ResolveID(id)
	if err != nil {
		return "", err
	}
	if d.store.Exists(rid) {
		d.mu.Lock()
		d.resolved[id] = rid
		d.mu.Unlock()
	}
	return rid, nil
}

// Exists reports whether layer id exists, complete.
func (d *Driver) Exists(id string) bool {
	d.mu.Lock()
	_, ok := d.resolved[id]
	d.mu.Unlock()
	if ok {
		return true
	}
	rid, err := d.resolve(id)
	return err == nil && d.store.Exists(rid)
}

// chainFor returns the parent chain of a new layer on parent: [parent] +
// parent's chain, leaving out a parent that has no Files directory, as
// moby does for a container's -init layer.
func (d *Driver) chainFor(parent string) ([]string, error) {
	if parent == "" {
		return nil, nil
	}
	rp, err := d.resolve(parent)
	if err != nil {
		return nil, err
	}
	if !d.store.Exists(rp) {
		return nil, fmt.Errorf("cannot create layer with missing parent %s: %w", parent, layer.ErrNotExist)
	}
	pchain, err := layer.ReadChain(d.dir(rp))
	if err != nil {
		return nil, err
	}
	var chain []string
	if _, err := os.Stat(filepath.Join(d.dir(rp), "Files")); err == nil {
		chain = append(chain, d.dir(rp))
	}
	return append(chain, pchain...), nil
}

// Create creates an empty read-only layer id on parent ("" for a base).
func (d *Driver) Create(id, parent string, opts *CreateOpts) error {
	defer d.lock(id)()
	chain, err := d.chainFor(parent)
	if err != nil {
		return fmt.Errorf("create %s: %w", id, err)
	}
	return d.store.Create(id, chain)
}

// CreateReadWrite creates a sandbox id on parent: an empty layer whose
// writable Files live on a file system limited to the size storage option
// (opts.StorageOpt["size"], else the driver default).
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
	if err := d.Create(id, parent, opts); err != nil {
		return err
	}
	defer d.lock(id)()
	d.forget(id)
	if err := d.makeSandbox(id, size); err != nil {
		d.store.Remove(id)
		return fmt.Errorf("create %s: %w", id, err)
	}
	return nil
}

// makeSandbox moves the layer's Files onto a size-limited file system.
func (d *Driver) makeSandbox(id string, size int64) error {
	sb := d.sandboxDir(id)
	if err := os.MkdirAll(sb, 0o700); err != nil {
		return err
	}
	if err := mount.Sandbox(d.sandboxImage(id), sb, size); err != nil {
		if errors.Is(err, mount.ErrNotSupported) {
			return fmt.Errorf("%w: %v", ErrSizeLimitUnsupported, err)
		}
		return err
	}
	files := filepath.Join(sb, "Files")
	if err := os.MkdirAll(files, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(files, 0o755); err != nil {
		return err
	}
	link := filepath.Join(d.dir(id), "Files")
	if err := os.Remove(link); err != nil {
		return err
	}
	return os.Symlink(filepath.Join(".winlayer", "sandbox", "Files"), link)
}

// ensureSandbox remounts a sandbox's file system (after a restart).
func (d *Driver) ensureSandbox(id string) error {
	img := d.sandboxImage(id)
	if _, err := os.Stat(img); err != nil {
		return nil
	}
	return mount.Sandbox(img, d.sandboxDir(id), 0)
}

// Remove deletes layer id (resolved): its views and sandbox are unmounted,
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
	m := d.mounts[rid]
	delete(d.mounts, rid)
	delete(d.resolved, id)
	delete(d.resolved, rid)
	delete(d.views, rid)
	d.mu.Unlock()
	if m != nil {
		if err := d.unmountView(rid, m.path); err != nil && !errors.Is(err, mount.ErrNotSupported) {
			return fmt.Errorf("remove %s: %w", id, err)
		}
	}
	if err := mount.Unmount(d.mountPath(rid)); err != nil && !errors.Is(err, mount.ErrNotSupported) {
		return fmt.Errorf("remove %s: %w", id, err)
	}
	os.Remove(d.mountPath(rid))
	if err := mount.Unmount(d.sandboxDir(rid)); err != nil && !errors.Is(err, mount.ErrNotSupported) {
		return fmt.Errorf("remove %s: %w", id, err)
	}
	broken, err := d.store.RemoveForce(rid)
	if len(broken) > 0 {
		slog.Warn("windowsfilter: removed a layer that other layers name as parent", "layer", rid, "dependants", broken)
	}
	return err
}

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
	p, err := d.mountView(rid)
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
	if err := d.unmountView(rid, m.path); err != nil {
		return fmt.Errorf("put %s: %w", id, err)
	}
	return nil
}

// GetMetadata returns {"dir": <layer directory>} (id not resolved).
func (d *Driver) GetMetadata(id string) (map[string]string, error) {
	return map[string]string{"dir": d.dir(filepath.Base(id))}, nil
}

// GetLayerPath returns the layer directory of id (not resolved).
func (d *Driver) GetLayerPath(id string) (string, error) { return d.dir(filepath.Base(id)), nil }

// Cleanup unmounts every view and sandbox and removes the debris of
// interrupted imports and removals.
func (d *Driver) Cleanup() error {
	d.mu.Lock()
	mounts := d.mounts
	d.mounts = map[string]*mountRef{}
	d.mu.Unlock()
	var errs []error
	for id, m := range mounts {
		if err := d.unmountView(id, m.path); err != nil && !errors.Is(err, mount.ErrNotSupported) {
			errs = append(errs, err)
		}
	}
	if des, err := os.ReadDir(d.mountRoot()); err == nil {
		for _, de := range des {
			p := filepath.Join(d.mountRoot(), de.Name())
			if mount.IsMounted(p) {
				if err := mount.Unmount(p); err != nil {
					errs = append(errs, err)
				}
			}
			os.Remove(p)
		}
	}
	if infos, err := d.store.List(); err == nil {
		for _, in := range infos {
			if sb := d.sandboxDir(in.ID); mount.IsMounted(sb) {
				if err := mount.Unmount(sb); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	errs = append(errs, d.store.Cleanup())
	return errors.Join(errs...)
}

// DiffGetter returns the payloads of layer id by tar name.
func (d *Driver) DiffGetter(id string) (FileGetCloser, error) {
	rid, err := d.resolve(id)
	if err != nil {
		return nil, err
	}
	return layer.NewFileGetter(d.dir(rid))
}

// Diff returns the Windows layer tar of layer id: the imported bytes for an
// imported layer, else generated from its files. parent is ignored: the
// chain recorded in the layer is what counts.
func (d *Driver) Diff(id, parent string) (io.ReadCloser, error) {
	rid, err := d.resolve(id)
	if err != nil {
		return nil, err
	}
	if err := d.ensureSandbox(rid); err != nil {
		return nil, err
	}
	return d.exportLayer(rid)
}

// DiffSize returns the bytes of the regular files that layer id adds or
// changes (what ApplyDiff of its Diff returns).
func (d *Driver) DiffSize(id, parent string) (int64, error) {
	rid, err := d.resolve(id)
	if err != nil {
		return 0, err
	}
	if !d.store.IsDirty(rid) {
		if m, err := d.store.Meta(rid); err == nil {
			return m.Size, nil
		}
	}
	if err := d.ensureSandbox(rid); err != nil {
		return 0, err
	}
	changes, err := d.Changes(id, parent)
	if err != nil {
		return 0, err
	}
	files := filepath.Join(d.dir(rid), "Files")
	var total int64
	for _, c := range changes {
		if c.Kind == ChangeDelete {
			continue
		}
		fi, err := os.Lstat(filepath.Join(files, filepath.FromSlash(c.Path)))
		if err == nil && fi.Mode().IsRegular() {
			total += fi.Size()
		}
	}
	return total, nil
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
	img := d.sandboxImage(rid)
	if _, err := os.Stat(img); err != nil {
		return fmt.Errorf("expand %s: not a sandbox: %w", id, ErrSizeLimitUnsupported)
	}
	d.mu.Lock()
	_, mounted := d.mounts[rid]
	d.mu.Unlock()
	if mounted {
		// Growing may need the sandbox's file system offline.
		return fmt.Errorf("expand %s: the layer's view is mounted (Put it first): %w", id, layer.ErrInUse)
	}
	if err := d.ensureSandbox(rid); err != nil {
		return fmt.Errorf("expand %s: %w", id, err)
	}
	if err := mount.GrowSandbox(img, d.sandboxDir(rid), size); err != nil {
		if errors.Is(err, mount.ErrNotSupported) {
			err = fmt.Errorf("%w: %v", ErrSizeLimitUnsupported, err)
		}
		return fmt.Errorf("expand %s: %w", id, err)
	}
	return nil
}
