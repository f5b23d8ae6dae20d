package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/winlayer/winlayer/layer"
)

// defaultStore is the store used without --store: $WINLAYER_STORE, else
// /var/lib/winlayer for root, else $XDG_DATA_HOME/winlayer (by default
// ~/.local/share/winlayer).
func defaultStore() string {
	if s := os.Getenv("WINLAYER_STORE"); s != "" {
		return s
	}
	if os.Geteuid() == 0 {
		return "/var/lib/winlayer"
	}
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "winlayer")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "winlayer")
	}
	return "winlayer-store"
}

func addStoreFlag(root *cobra.Command, o *options) {
	root.PersistentFlags().StringVar(&o.store, "store", defaultStore(),
		"layer store directory; when not given: $WINLAYER_STORE, else /var/lib/winlayer for root, else ~/.local/share/winlayer")
}

// openStore opens (creating it if needed) the store of import, image pull
// and image load. The returned undo is for the command's failure: when
// this call created the store and nothing was committed to it, undo
// removes the store directory again (and the parents it had to create), so
// that a refused tar or image leaves no empty store behind. A store that
// existed before, or one holding anything but what Open and the image
// locks make (a layer, an image, a blob), is never removed.
func (o *options) openStore() (s *layer.Store, undo func(), err error) {
	abs, err := filepath.Abs(o.store)
	if err != nil {
		return nil, nil, fmt.Errorf("open store %s: %w", o.store, err)
	}
	created := firstMissing(abs)
	s, err = layer.Open(abs)
	if err != nil {
		if created != "" {
			removeEmptyStore(abs, created)
		}
		return nil, nil, err
	}
	undo = func() {}
	if created != "" {
		undo = func() { removeEmptyStore(abs, created) }
	}
	return s, undo, nil
}

// firstMissing is the outermost of dir and its parents that does not
// exist ("" when dir exists): what creating dir creates.
func firstMissing(dir string) string {
	missing := ""
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil || !errors.Is(err, fs.ErrNotExist) {
			return missing
		}
		missing = d
		if filepath.Dir(d) == d {
			return missing
		}
	}
}

// removeEmptyStore removes the store home made by this command when it
// holds only directories and empty lock files (.winlayer.lock,
// .images/lock, .images/pulls.lock), then its parents up to top that are
// empty. Anything else in it (a layer, an image index, a blob) keeps it.
func removeEmptyStore(home, top string) {
	empty := true
	err := filepath.WalkDir(home, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() || fi.Size() != 0 || !isStoreLockName(d.Name()) {
			empty = false
			return fs.SkipAll
		}
		return nil
	})
	if err != nil || !empty {
		return
	}
	if os.RemoveAll(home) != nil {
		return
	}
	for d := filepath.Dir(home); len(d) >= len(top) && d != filepath.Dir(d); d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			return
		}
	}
}

// isStoreLockName reports whether name is one of the lock files a store
// gets before anything is committed to it.
func isStoreLockName(name string) bool {
	return name == ".winlayer.lock" || name == "lock" || name == "pulls.lock"
}

// openExistingStore opens the store of a command that changes an existing
// one (rm, cleanup): a missing store is an error naming its path, not
// created (a mistyped --store must not leave an empty store behind).
func (o *options) openExistingStore() (*layer.Store, error) {
	if _, err := layer.OpenReadOnly(o.store); err != nil {
		return nil, noStoreHint(err)
	}
	return layer.Open(o.store)
}

// noStoreHint adds to a missing store's error where the store comes from
// and which commands create one.
func noStoreHint(err error) error {
	if errors.Is(err, layer.ErrNoStore) {
		return fmt.Errorf("%w (give the store with --store DIR or $WINLAYER_STORE; 'winlayer import', 'image pull' and 'image load' create one)", err)
	}
	return err
}

// openStoreReadOnly opens the store of a command that only reads (ls,
// inspect, export, check): nothing is created, no cleanup runs, and a
// missing store is an error naming its path.
func (o *options) openStoreReadOnly() (*layer.Store, error) {
	s, err := layer.OpenReadOnly(o.store)
	return s, noStoreHint(err)
}

// isTerminal reports whether f is a terminal: an *os.File on which the
// terminal's own control call works (see isatty_*.go). /dev/null, and
// other character devices that are not terminals, are not.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && isatty(file)
}

// barTerminal reports whether progress bars can be drawn on f: a terminal
// that has a width. A terminal of 0 columns (a pseudo-terminal nobody
// sized) gets the plain progress lines, as a pipe does: mpb draws nothing
// at width 0.
func barTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && isatty(file) && termColumns(file) != 0
}
