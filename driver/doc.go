// Package driver is moby's windowsfilter graph driver contract on top of
// winlayer's layer store: Create, CreateReadWrite, Remove, Get, Put,
// Exists, Diff, Changes, ApplyDiff, DiffSize, GetMetadata, GetLayerPath,
// Status, String, Cleanup and DiffGetter, in winlayer's own types so that
// an adapter to moby's graphdriver.Driver is a few lines (see compat/moby).
//
// On Linux a layer's view (Get) is an overlayfs mount of the layer's Files
// directory over its parents' (read-only for imported layers, so their
// export stays byte-exact), reference-counted by Get and Put. Sandboxes
// (CreateReadWrite) keep their writable Files on a size-limited ext4 image
// mounted through a loop device, the counterpart of sandbox.vhdx.
//
// ApplyDiff runs the import in a re-executed child process by default, as
// moby does; programs embedding the driver call [ReexecInit] first in main
// (or TestMain). WINLAYER_NOREEXEC=1 imports in-process.
package driver
