//go:build !linux

package mount

// Overlay is not supported outside Linux.
func Overlay(target string, lowers []string, upper, work string) error { return ErrNotSupported }

// Unmount is not supported outside Linux.
func Unmount(target string) error { return ErrNotSupported }

// IsMounted is always false outside Linux.
func IsMounted(target string) bool { return false }

// Sandbox is not supported outside Linux.
func Sandbox(image, target string, size int64) error { return ErrNotSupported }

// GrowSandbox is not supported outside Linux.
func GrowSandbox(image, target string, size int64) error { return ErrNotSupported }

// FormatSandbox is not supported outside Linux.
func FormatSandbox(image string, size int64) error { return ErrNotSupported }
