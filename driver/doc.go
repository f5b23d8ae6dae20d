// Package driver is moby's windowsfilter graph driver contract on top of
// winlayer's layer store: Create, CreateReadWrite, Remove, Get, Put,
// Exists, Diff, Changes, ApplyDiff, DiffSize, GetMetadata, GetLayerPath,
// Status, String, Cleanup and DiffGetter, in winlayer's own types so that
// an adapter to moby's graphdriver.Driver is a few lines (see compat/moby).
//
// The store plans and the driver executes, as containerd's overlay
// snapshotter does: [layer.Store.View] describes what a layer's view needs
// (lower directories, upper, work, read-only or not, sandboxes), the store
// lays sandboxes out inside its own commit, and the driver carries the
// plan out through a [Mounter] — the platform's by default, another one
// with [WithMounter] (driver/drivertest's FakeMounter needs no
// privilege). The driver never changes a layer directory's layout.
//
// On Linux a layer's view (Get) is an overlayfs mount of the layer's Files
// directory over its parents' (read-only for imported layers, so their
// export stays byte-exact), reference-counted by Get and Put. Sandboxes
// (CreateReadWrite) keep their writable Files on a size-limited ext4 image
// mounted through a loop device, the counterpart of sandbox.vhdx.
//
// ApplyDiff runs the import in a re-executed child process by default, as
// moby does; programs embedding the driver call [ReexecInit] first in main
// (or TestMain). WINLAYER_NOREEXEC=1 imports in-process. The child's
// error crosses back as one JSON line naming the sentinel errors it
// matches, so errors.Is works on ApplyDiff's error either way.
package driver
