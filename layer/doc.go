// Package layer is winlayer's layer store: the portable counterpart of
// hcsshim's wclayer (ImportLayer, ExportLayer, LayerWriter, LayerReader)
// over one directory per layer in a home directory, following the
// conventions of moby's windowsfilter driver (spec "layer-store.md").
//
// A layer directory holds the layer's files as real files (Files/, Hives/,
// UtilityVM/, so that overlayfs can mount them), layerchain.json with the
// parent layer paths, the UtilityVM BCD backups, and winlayer's own
// metadata under .winlayer/: the Windows metadata of every entry (times,
// attributes, security descriptors, EAs, reparse points, alternate data
// streams, hard links, tombstones) in an index, alternate data stream
// payloads, and the tar-split record of the original tar, from which
// [Export] reproduces the imported tar byte for byte.
//
// Imports are crash-safe: a layer is built in a staging directory under
// the home, synced, and renamed into place in one step, so a layer either
// exists whole or not at all. [Store.Cleanup] (and [Open]) remove what an
// interrupted import or removal left behind.
//
// The store also plans the views a graph driver mounts: [Store.View]
// describes a layer's view (lower directories, upper, work, read-only or
// not, sandboxes), and [Store.Create] with [WithSandbox] lays a sandbox
// out inside the same crash-safe commit; the driver only executes the
// plan (package driver).
//
// Every [Store] method that reads or writes the disk takes a
// [context.Context] first; a cancelled one stops it between items (layers
// of a listing, entries of a removal or check, entries of a [Writer] or
// [Reader]) with the context's error, and a removal stopped midway leaves
// the layer whole or gone, never half. [Store.Exists] and [Store.IsDirty]
// are the exception: one lstat each, answering a yes/no question.
// [Reader.Next] returns each entry's [Header] in the manner of
// archive/tar: name, size, basic information, whiteout flag and the name
// a hard link points to.
//
// Every name is checked before anything is written ([wintar.ValidateName]):
// nothing is ever written outside the layer directory.
package layer
