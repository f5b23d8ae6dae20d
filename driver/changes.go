package driver

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/winlayer/winlayer/internal/overlay"
	"github.com/winlayer/winlayer/layer"
)

// Changes lists what layer id changes relative to its parent chain: Add
// for paths absent below, Modify for changed files and for directories
// whose entries changed, Delete for removed paths; paths are rooted at "/"
// of the view. parent is ignored: the chain recorded in the layer is what
// counts. Deletions are the layer's overlay whiteouts (internal/overlay).
func (d *Driver) Changes(id, parent string) ([]Change, error) {
	rid, err := d.resolve(id)
	if err != nil {
		return nil, err
	}
	if !d.store.Exists(rid) {
		return nil, fmt.Errorf("changes %s: %w", id, layer.ErrNotExist)
	}
	v, err := d.view(context.Background(), rid)
	if err != nil {
		return nil, fmt.Errorf("changes %s: %w", id, err)
	}
	own, lowers := v.Upper, v.Lower
	if v.ReadOnly {
		own, lowers = v.Lower[0], v.Lower[1:]
	}
	var out []Change
	if err := walkChanges(own, "/", lowers, &out); err != nil {
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
		if overlay.IsWhiteoutAt(full, fi) {
			*out = append(*out, Change{Path: p, Kind: ChangeDelete})
			continue
		}
		kind := ChangeAdd
		if _, below := overlay.Lookup(lowers, p); below {
			kind = ChangeModify
		}
		*out = append(*out, Change{Path: p, Kind: kind})
		if fi.IsDir() {
			below := lowers
			if overlay.IsOpaque(full) {
				below = nil // nothing under an opaque directory comes from below
			}
			if err := walkChanges(upper, p, below, out); err != nil {
				return err
			}
		}
	}
	return nil
}
