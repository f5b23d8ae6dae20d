//go:build !linux

package layer

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// Where openat2 does not exist the store checks every component beneath
// its home with Lstat before it opens, renames or deletes: a symlink is
// corruption ([symlinkAt]), never followed.

// checkBeneath Lstats every component of rel beneath home but the last
// and returns the last one's Lstat.
func checkBeneath(home, rel string) (fs.FileInfo, error) {
	p := home
	parts := splitRel(rel)
	var fi fs.FileInfo
	for i, c := range parts {
		p = filepath.Join(p, c)
		var err error
		if fi, err = os.Lstat(p); err != nil {
			return nil, err
		}
		if i < len(parts)-1 {
			if fi.Mode()&fs.ModeSymlink != 0 {
				return nil, symlinkAt(p)
			}
			if !fi.IsDir() {
				return nil, notADir(home, rel)
			}
		}
	}
	if fi == nil {
		return os.Stat(home)
	}
	return fi, nil
}

func openDirBeneath(home, rel string) (*os.File, error) {
	fi, err := checkBeneath(home, rel)
	if err != nil {
		return nil, err
	}
	if err := wantDir(home, rel, fi); err != nil {
		return nil, err
	}
	return os.Open(filepath.Join(home, rel))
}

func lstatBeneath(home, rel string) (fs.FileInfo, error) { return checkBeneath(home, rel) }

func readFileBeneath(home, rel string) ([]byte, error) {
	fi, err := checkBeneath(home, rel)
	if err != nil {
		return nil, err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return nil, symlinkAt(filepath.Join(home, rel))
	}
	if !fi.Mode().IsRegular() {
		return nil, &os.PathError{Op: "read", Path: filepath.Join(home, rel), Err: errors.New("not a regular file")}
	}
	return os.ReadFile(filepath.Join(home, rel))
}

func mkdirBeneath(home, rel string, perm os.FileMode) error {
	if _, err := openDirBeneathCheck(home, filepath.Dir(rel)); err != nil {
		return err
	}
	err := os.Mkdir(filepath.Join(home, rel), perm)
	if errors.Is(err, fs.ErrExist) {
		fi, serr := lstatBeneath(home, rel)
		if serr != nil {
			return serr
		}
		return wantDir(home, rel, fi)
	}
	return err
}

// openDirBeneathCheck checks that rel is a real directory beneath home.
func openDirBeneathCheck(home, rel string) (fs.FileInfo, error) {
	fi, err := checkBeneath(home, rel)
	if err != nil {
		return nil, err
	}
	if rel != "" && rel != "." {
		if err := wantDir(home, rel, fi); err != nil {
			return nil, err
		}
	}
	return fi, nil
}

func renameBeneath(home, from, to string) error {
	if _, err := openDirBeneathCheck(home, filepath.Dir(from)); err != nil {
		return err
	}
	if _, err := openDirBeneathCheck(home, filepath.Dir(to)); err != nil {
		return err
	}
	return os.Rename(filepath.Join(home, from), filepath.Join(home, to))
}

func removeAllBeneath(home, rel string) error {
	fi, err := checkBeneath(home, rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return symlinkAt(filepath.Join(home, rel))
	}
	// os.RemoveAll does not follow symlinks inside the tree.
	return os.RemoveAll(filepath.Join(home, rel))
}
