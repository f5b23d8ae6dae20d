//go:build !unix

package flock

import (
	"io/fs"
	"os"
)

// open opens (creating if needed) the regular file at path; a symlink or
// other reparse point there is refused, not followed.
func open(path string, perm fs.FileMode) (*os.File, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&(fs.ModeSymlink|fs.ModeIrregular) != 0 {
		return nil, &fs.PathError{Op: "open", Path: path, Err: ErrSymlink}
	} else if err == nil && !fi.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "open", Path: path, Err: ErrNotRegular}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, perm.Perm())
	if err != nil {
		return nil, err
	}
	if err := checkRegular(f, path); err != nil {
		return nil, err
	}
	return f, nil
}
