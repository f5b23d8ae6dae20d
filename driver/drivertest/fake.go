package drivertest

import "github.com/winlayer/winlayer/driver/internal/fakemount"

// FakeMounter is a [driver.Mounter] that needs no privilege, for running
// the driver's logic (and [Suite]) as any user. It "mounts" a view by
// copying it: the target becomes the merge of the view's directories
// under overlayfs' rules (whiteouts and opaque directories from
// internal/overlay), and unmounting a writable view copies what changed
// back into its upper directory — new and changed files, whiteouts for
// deleted ones (overlayfs' xattr form where devices cannot be made) —
// as an overlay mount would have written them. Changes made through a
// view thus reach the layer when it is put, not while it is mounted. A
// writable view without lower directories is its upper directory
// itself. Sandboxes are plain image files of the asked size (no limit is
// enforced). Every call is recorded (Calls), FailOn injects errors.
type FakeMounter = fakemount.Mounter

// NewFakeMounter returns a FakeMounter with nothing mounted.
func NewFakeMounter() *FakeMounter { return fakemount.New() }
