package image

import "golang.org/x/sys/windows"

// storeFailureErrnos are the errors of a store's file system that no
// damaged blob causes (see storeFailure): a full disk or quota, a device
// error, a write-protected volume.
var storeFailureErrnos = []error{windows.ERROR_DISK_FULL, windows.ERROR_HANDLE_DISK_FULL,
	windows.ERROR_DISK_QUOTA_EXCEEDED, windows.ERROR_IO_DEVICE, windows.ERROR_WRITE_PROTECT}
