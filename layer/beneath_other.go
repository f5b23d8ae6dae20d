//go:build !linux

package layer

import (
	"context"
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

func removeAllBeneath(ctx context.Context, home, rel string) error {
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
	return removeTree(ctx, filepath.Join(home, rel))
}

// removeTree deletes p with all its content, checking ctx before each
// entry: a cancelled removal stops with ctx's error and leaves what it did
// not reach. The deletions are os.RemoveAll's (which does not follow
// symlinks and clears what Windows needs cleared).
func removeTree(ctx context.Context, p string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil && fi.IsDir() {
		des, err := os.ReadDir(p)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		for _, de := range des {
			if err := removeTree(ctx, filepath.Join(p, de.Name())); err != nil {
				return err
			}
		}
	}
	return os.RemoveAll(p)
}
