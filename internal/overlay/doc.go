// Package overlay holds overlayfs' rules for deletions in a layer's
// files, in one place for the layer store (which writes whiteouts and
// opaque directories on import and reads them on export) and the graph
// driver (which reads them for Changes):
//
//   - a whiteout is a character device 0/0, or (overlayfs' xattr form,
//     which an unprivileged process can make) an empty regular file
//     carrying the xattr trusted.overlay.whiteout or user.overlay.whiteout;
//   - an opaque directory carries trusted.overlay.opaque=y (or
//     user.overlay.opaque=y): nothing below it in lower layers is seen;
//   - a path is visible in a stack of lower directories (nearest first)
//     when the nearest layer that has it, or a whiteout or opaque
//     directory on its way, has it as an entry.
package overlay
