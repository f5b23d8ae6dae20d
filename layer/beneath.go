package layer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Sentinel errors of opening and committing; test them with errors.Is.
var (
	// ErrNoStore reports a store home that does not exist, opened read-only.
	ErrNoStore = errors.New("no such store")
	// ErrReadOnly reports a change asked of a store opened with [OpenReadOnly].
	ErrReadOnly = errors.New("store opened read-only")
	// ErrCommittedNotDurable reports a layer that was committed (it is in
	// the store under its id) but whose final flush to stable storage
	// failed: it may be lost if the machine crashes now.
	ErrCommittedNotDurable = errors.New("layer committed but not flushed to stable storage")
)

// symlinkAt is the error for a symlink where the store keeps a directory
// or file of its own: corruption, never followed nor deleted through.
func symlinkAt(p string) error {
	return fmt.Errorf("%s is a symlink where the store keeps a directory or file of its own (not followed): %w", p, ErrCorrupt)
}

// symlinkOnPath names the first symlink on the way from dir to rel.
func symlinkOnPath(dir, rel string) error {
	p := dir
	for _, c := range splitRel(rel) {
		p = filepath.Join(p, c)
		if fi, err := os.Lstat(p); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return symlinkAt(p)
		}
	}
	return symlinkAt(filepath.Join(dir, rel))
}

func notADir(home, rel string) error {
	return fmt.Errorf("%s is not a directory: %w", filepath.Join(home, rel), ErrCorrupt)
}

// wantDir checks that fi (of rel beneath home) is a real directory.
func wantDir(home, rel string, fi fs.FileInfo) error {
	if fi.Mode()&fs.ModeSymlink != 0 {
		return symlinkAt(filepath.Join(home, rel))
	}
	if !fi.IsDir() {
		return notADir(home, rel)
	}
	return nil
}

// splitRel splits a relative path into its components.
func splitRel(rel string) []string {
	var out []string
	for _, c := range strings.Split(filepath.ToSlash(rel), "/") {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return out
}

// statFileInfo is the fs.FileInfo of lstatBeneath.
type statFileInfo struct {
	name     string
	mode     fs.FileMode
	size     int64
	dev, ino uint64
}

func (f *statFileInfo) Name() string       { return f.name }
func (f *statFileInfo) Size() int64        { return f.size }
func (f *statFileInfo) Mode() fs.FileMode  { return f.mode }
func (f *statFileInfo) ModTime() time.Time { return time.Time{} }
func (f *statFileInfo) IsDir() bool        { return f.mode.IsDir() }
func (f *statFileInfo) Sys() any           { return nil }

// checkLayer checks that layer id is a real directory with, if any, a
// real .winlayer directory: [ErrNotExist] when it is missing, corruption
// naming the path for a symlink or a file in their place.
func (s *Store) checkLayer(id string) error {
	fi, err := lstatBeneath(s.home, id)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("layer %s: %w", id, ErrNotExist)
	}
	if err == nil {
		err = wantDir(s.home, id, fi)
	}
	if err != nil {
		return fmt.Errorf("layer %s: %w", id, err)
	}
	fi, err = lstatBeneath(s.home, filepath.Join(id, metaDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil {
		err = wantDir(s.home, filepath.Join(id, metaDir), fi)
	}
	if err != nil {
		return fmt.Errorf("layer %s: %w", id, err)
	}
	return nil
}

// readChain is [ReadChain] of layer id, read beneath the home.
func (s *Store) readChain(id string) ([]string, error) {
	return decodeChain(readFileBeneath(s.home, filepath.Join(id, chainFile)))
}

// checkParents refuses parent layer directories that are symlinks (or,
// in the store, reached through one): hard links into a parent must not
// reach outside it.
func (s *Store) checkParents(parents []string) error {
	for _, p := range parents {
		p = filepath.Clean(p)
		if filepath.Dir(p) == s.home {
			id := filepath.Base(p)
			fi, err := lstatBeneath(s.home, id)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err == nil {
				err = wantDir(s.home, id, fi)
			}
			if err != nil {
				return fmt.Errorf("parent %s: %w", id, err)
			}
			continue
		}
		fi, err := os.Lstat(p)
		if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("parent %s: %w", p, symlinkAt(p))
		}
	}
	return nil
}
