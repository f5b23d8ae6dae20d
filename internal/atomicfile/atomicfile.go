// Package atomicfile writes files (indexes, configs, a docker-archive) so that a
// reader sees the old content or the new, never a part: the bytes go to a
// temporary file in the same directory, which is synced, given its mode and
// renamed over the target; then the directory is synced so that the rename
// itself survives a crash.
package atomicfile

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Write replaces path with b, mode perm, atomically and durably. On error
// the target is untouched and no temporary file is left.
func Write(path string, b []byte, perm fs.FileMode) error {
	return WriteFrom(path, perm, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// WriteFrom is Write for content that fill streams into its writer (a
// docker-archive written as it is made, say): path is replaced by what
// fill wrote only if fill returns nil; on any error the target is
// untouched and no temporary file is left. The temporary file a killed
// write left beside path is removed by the next write of path (see
// CreateTemp).
func WriteFrom(path string, perm fs.FileMode, fill func(w io.Writer) error) error {
	dir := filepath.Dir(path)
	f, release, err := CreateTemp(dir, "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer release()
	tmp := f.Name()
	err = f.Chmod(perm)
	if err == nil {
		err = fill(f)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return SyncDir(dir)
}
