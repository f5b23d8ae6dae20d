//go:build !windows

package image

import "syscall"

// storeFailureErrnos are the errors of a store's file system that no
// damaged blob causes (see storeFailure): a full disk or quota, an I/O
// error, a read-only file system.
var storeFailureErrnos = []error{syscall.ENOSPC, syscall.EDQUOT, syscall.EIO, syscall.EROFS}
