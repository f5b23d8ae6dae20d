package cli

import (
	"errors"
	"fmt"
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

// openStore opens (creating it if needed) the store of import.
func (o *options) openStore() (*layer.Store, error) { return layer.Open(o.store) }

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
