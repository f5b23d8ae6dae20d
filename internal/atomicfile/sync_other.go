//go:build !unix

package atomicfile

// SyncDir does nothing where directories cannot be opened for syncing
// (Windows: NTFS makes a rename durable with the file system's journal).
func SyncDir(string) error { return nil }
