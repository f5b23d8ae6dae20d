// Package wintar converts between Windows container layer tars and Win32
// backup streams: the portable equivalent of go-winio's backuptar plus the
// import loop of hcsshim's pkg/ociwclayer, byte-compatible with both.
//
// Import direction (tar → layer): [FileInfoFromHeader] turns a tar header
// into a name, size and [backupstream.FileBasicInfo];
// [WriteBackupStreamFromTarFile] turns the entry (and the `name:stream`
// alternate-data-stream entries after it) into one backup stream; [Import]
// runs the whole loop against a [LayerWriter], turning whiteouts into
// Remove calls and hard links into AddLink calls.
//
// Export direction (layer → tar): [BasicInfoHeader] builds the header
// skeleton, [WriteTarFileFromBackupStream] writes one file with its
// metadata and alternate data streams, [WriteWhiteout] and [WriteHardLink]
// write deletions and links.
//
// Names: the tar uses `/`, Windows names use `\`; [ToWindows] and [ToSlash]
// convert explicitly on every host OS, never through path/filepath. The
// codec itself does not validate names (it reproduces go-winio's calls,
// `..` included); the layer store does that before writing anything.
//
// The behaviour follows the winlayer spec "windows-layer-format.md"
// sections 2 to 6; error texts are go-winio's, so they can be compared with
// the golden vectors, and [EntryError] adds the entry name around them.
package wintar
