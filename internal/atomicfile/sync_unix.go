//go:build unix

package atomicfile

import "os"

// SyncDir flushes a directory (a rename in it) to stable storage.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
