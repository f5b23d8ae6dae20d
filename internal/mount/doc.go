// Package mount holds the thin OS layer of the driver's mounted views:
// overlayfs on Linux (with the new mount API, so that chains of any depth
// fit), size-limited sandbox file systems, unmounting. Elsewhere every call
// returns ErrNotSupported.
package mount

import "errors"

// ErrNotSupported is returned where the host cannot provide the mount.
var ErrNotSupported = errors.New("mount not supported on this host")
