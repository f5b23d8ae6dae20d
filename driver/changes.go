package driver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/winlayer/winlayer/layer"
)

// Changes lists what layer id changes relative to its parent chain: Add
// for paths absent below, Modify for changed files and for directories
// whose entries changed, Delete for removed paths; paths are rooted at "/"
// of the view. parent is ignored: the chain recorded in the layer is what
// counts.
func (d *Driver) Changes(id, parent string) ([]Change, error) {
	rid, err := d.resolve(id)
	if err != nil {
		return nil, err
	}
	if !d.store.Exists(rid) {
		return nil, fmt.Errorf("changes %s: %w", id, layer.ErrNotExist)
	}
	if err := d.ensureSandbox(rid); err != nil {
		return nil, err
	}
	chain, err := layer.ReadChain(d.dir(rid))
	if err != nil {
		return nil, err
	}
	var lowers []string
	for _, p := range chain {
		lf := filepath.Join(p, "Files")
		if real, err := filepath.EvalSymlinks(lf); err == nil {
			lf = real
		}
		lowers = append(lowers, lf)
	}
	upper := filepath.Join(d.dir(rid), "Files")
	if real, err := filepath.EvalSymlinks(upper); err == nil {
		upper = real
	}
	var out []Change
	err = walkChanges(upper, "/", lowers, &out)
	if err != nil {
		return nil, fmt.Errorf("changes %s: %w", id, err)
	}
	return out, nil
}

func walkChanges(upper, dir string, lowers []string, out *[]Change) error {
	des, err := os.ReadDir(filepath.Join(upper, filepath.FromSlash(dir)))
	if err != nil {
		return err
	}
	for _, de := range des {
		p := path.Join(dir, de.Name())
		full := filepath.Join(upper, filepath.FromSlash(p))
		fi, err := os.Lstat(full)
		if err != nil {
			return err
		}
		if isWhiteout(fi) {
			*out = append(*out, Change{Path: p, Kind: ChangeDelete})
			continue
		}
		below := existsBelow(lowers, p)
		kind := ChangeAdd
		if below {
			kind = ChangeModify
		}
		*out = append(*out, Change{Path: p, Kind: kind})
		if fi.IsDir() {
			if err := walkChanges(upper, p, lowers, out); err != nil {
				return err
			}
		}
	}
	return nil
}

// existsBelow reports whether p is visible in the lower layers (nearest
// first), honouring whiteouts and opaque directories on the way.
func existsBelow(lowers []string, p string) bool {
	for _, l := range lowers {
		hidden, opaque := false, false
		cur := l
		parts := splitPath(p)
		for i, c := range parts {
			cur = filepath.Join(cur, c)
			fi, err := os.Lstat(cur)
			if errors.Is(err, fs.ErrNotExist) {
				break
			}
			if err != nil || isWhiteout(fi) {
				hidden = true
				break
			}
			if i == len(parts)-1 {
				return true
			}
			if !fi.IsDir() {
				break
			}
			if isOpaqueDir(cur) {
				opaque = true
			}
		}
		if hidden || opaque {
			return false
		}
	}
	return false
}

func splitPath(p string) []string {
	var parts []string
	for p != "/" && p != "" && p != "." {
		parts = append([]string{path.Base(p)}, parts...)
		p = path.Dir(p)
	}
	return parts
}
