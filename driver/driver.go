package driver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	units "github.com/docker/go-units"

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
	mounter     Mounter
	log         *slog.Logger
	defaultSize int64

	mu       sync.Mutex
	locks    map[string]*idLock
	mounts   map[string]*mountRef
	resolved map[string]string
	views    map[string]layer.View
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
// default sandbox size; any other option is an error. opts choose the
// mounter ([WithMounter]) and logger ([WithLogger]).
func New(home string, options []string, opts ...Option) (*Driver, error) {
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
	c := config{log: slog.Default()}
	for _, o := range opts {
		o(&c)
	}
	s, err := layer.Open(home, layer.WithLogger(c.log))
	if err != nil {
		return nil, err
	}
	if c.mounter == nil {
		c.mounter = platformMounter(s.Home())
	}
	d := &Driver{home: s.Home(), store: s, mounter: c.mounter, log: c.log, defaultSize: size,
		locks: map[string]*idLock{}, mounts: map[string]*mountRef{}, resolved: map[string]string{}, views: map[string]layer.View{}}
	for _, dir := range []string{d.mountRoot(), emptyDir(d.home)} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// Store returns the layer store under the driver.
func (d *Driver) Store() *layer.Store { return d.store }

func (d *Driver) mountRoot() string          { return filepath.Join(d.home, ".mounts") }
func (d *Driver) mountPath(id string) string { return filepath.Join(d.mountRoot(), id) }
func (d *Driver) dir(id string) string       { return d.store.Dir(id) }

// emptyDir is an empty directory of the driver's home, for mounters that
// need one.
func emptyDir(home string) string { return filepath.Join(home, ".empty") }

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

// view returns the store's plan of layer id's view with its sandboxes
// mounted, computed once per layer and cached until the layer changes
// (ApplyDiff, CreateReadWrite, Remove, Cleanup).
func (d *Driver) view(ctx context.Context, id string) (layer.View, error) {
	d.mu.Lock()
	v, ok := d.views[id]
	d.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := d.store.View(ctx, id)
	if err != nil {
		return layer.View{}, err
	}
	for _, sb := range v.Sandboxes {
		if err := d.mounter.MountSandbox(ctx, sb); err != nil {
			return layer.View{}, fmt.Errorf("layer %s: sandbox: %w", sb.ID, err)
		}
	}
	d.mu.Lock()
	d.views[id] = v
	d.mu.Unlock()
	return v, nil
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
	infos, _ := d.store.List(context.Background())
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
	rid, err := d.store.ResolveID(context.Background(), id)
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
	if _, err := os.Lstat(filepath.Join(d.dir(rp), "Files")); err == nil {
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
	return d.store.Create(context.Background(), id, chain)
}

// GetMetadata returns {"dir": <layer directory>} (id not resolved).
func (d *Driver) GetMetadata(id string) (map[string]string, error) {
	return map[string]string{"dir": d.dir(filepath.Base(id))}, nil
}

// GetLayerPath returns the layer directory of id (not resolved).
func (d *Driver) GetLayerPath(id string) (string, error) { return d.dir(filepath.Base(id)), nil }

// DiffGetter returns the payloads of layer id by tar name.
func (d *Driver) DiffGetter(id string) (FileGetCloser, error) {
	rid, err := d.resolve(id)
	if err != nil {
		return nil, err
	}
	if _, err := d.view(context.Background(), rid); err != nil {
		return nil, fmt.Errorf("diff getter %s: %w", id, err)
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
	if _, err := d.view(context.Background(), rid); err != nil {
		return nil, fmt.Errorf("diff %s: %w", id, err)
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
		if m, err := d.store.Meta(context.Background(), rid); err == nil {
			return m.Size, nil
		}
	}
	changes, err := d.Changes(id, parent)
	if err != nil {
		return 0, err
	}
	files := layer.FilesDir(d.dir(rid))
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
