// Package moby adapts winlayer's windowsfilter driver to moby's
// graphdriver.Driver interface (github.com/docker/docker v28) and registers
// it as "windowsfilter", so that moby's graphtest suite (and a daemon built
// with this package) can drive it.
//
// Programs using it must call driver.ReexecInit first in main (or TestMain):
// ApplyDiff re-executes the binary as "docker-windows-write-layer".
package moby

import (
	"errors"
	"fmt"
	"io"

	"github.com/docker/docker/daemon/graphdriver"
	"github.com/docker/docker/quota"
	"github.com/moby/go-archive"
	"github.com/moby/sys/user"

	"github.com/winlayer/winlayer/driver"
)

// DriverName is the name the adapter registers with graphdriver.
const DriverName = "windowsfilter"

func init() { graphdriver.Register(DriverName, Init) }

// Driver is a *driver.Driver seen as a moby graphdriver.DiffGetterDriver.
type Driver struct{ d *driver.Driver }

var (
	_ graphdriver.DiffGetterDriver = (*Driver)(nil)
	_ graphdriver.InitFunc         = Init
)

// Init opens the windowsfilter driver in home; idMap is ignored, as by
// moby's own windowsfilter.
func Init(home string, options []string, _ user.IdentityMapping) (graphdriver.Driver, error) {
	d, err := driver.New(home, options)
	if err != nil {
		return nil, err
	}
	return &Driver{d: d}, nil
}

// Unwrap returns the winlayer driver under the adapter.
func (a *Driver) Unwrap() *driver.Driver { return a.d }

func createOpts(o *graphdriver.CreateOpts) *driver.CreateOpts {
	if o == nil {
		return nil
	}
	return &driver.CreateOpts{MountLabel: o.MountLabel, StorageOpt: o.StorageOpt}
}

func (a *Driver) String() string                                   { return a.d.String() }
func (a *Driver) Status() [][2]string                              { return a.d.Status() }
func (a *Driver) Exists(id string) bool                            { return a.d.Exists(id) }
func (a *Driver) Remove(id string) error                           { return a.d.Remove(id) }
func (a *Driver) Get(id, mountLabel string) (string, error)        { return a.d.Get(id, mountLabel) }
func (a *Driver) Put(id string) error                              { return a.d.Put(id) }
func (a *Driver) GetMetadata(id string) (map[string]string, error) { return a.d.GetMetadata(id) }
func (a *Driver) GetLayerPath(id string) (string, error)           { return a.d.GetLayerPath(id) }
func (a *Driver) Cleanup() error                                   { return a.d.Cleanup() }
func (a *Driver) Diff(id, parent string) (io.ReadCloser, error)    { return a.d.Diff(id, parent) }
func (a *Driver) DiffSize(id, parent string) (int64, error)        { return a.d.DiffSize(id, parent) }

// Create creates an empty read-only layer id on parent.
func (a *Driver) Create(id, parent string, opts *graphdriver.CreateOpts) error {
	return a.d.Create(id, parent, createOpts(opts))
}

// CreateReadWrite creates a sandbox; a size limit the host cannot enforce
// is reported as quota.ErrQuotaNotSupported too (what moby checks for).
func (a *Driver) CreateReadWrite(id, parent string, opts *graphdriver.CreateOpts) error {
	err := a.d.CreateReadWrite(id, parent, createOpts(opts))
	if errors.Is(err, driver.ErrSizeLimitUnsupported) {
		return fmt.Errorf("%w: %w", quota.ErrQuotaNotSupported, err)
	}
	return err
}

// ApplyDiff imports the Windows layer tar diff as the content of id.
func (a *Driver) ApplyDiff(id, parent string, diff io.Reader) (int64, error) {
	return a.d.ApplyDiff(id, parent, diff)
}

// Changes converts the driver's changes to moby's (same kind values).
func (a *Driver) Changes(id, parent string) ([]archive.Change, error) {
	cs, err := a.d.Changes(id, parent)
	if err != nil {
		return nil, err
	}
	out := make([]archive.Change, len(cs))
	for i, c := range cs {
		out[i] = archive.Change{Path: c.Path, Kind: archive.ChangeType(c.Kind)}
	}
	return out, nil
}

// DiffGetter serves layer id's payloads by tar name, for tar-split.
func (a *Driver) DiffGetter(id string) (graphdriver.FileGetCloser, error) {
	return a.d.DiffGetter(id)
}
