package layer

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// OpenReadOnly opens the existing store in home for reading: it creates
// nothing and runs no cleanup, so it works on a store the caller cannot
// write. A missing home is [ErrNoStore] naming the path. Methods that
// change the store ([Store.NewWriter], [Store.Import], [Store.Remove],
// [Store.Cleanup], ...) fail with [ErrReadOnly].
func OpenReadOnly(home string, opts ...Option) (*Store, error) {
	abs, err := filepath.Abs(home)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", home, err)
	}
	s := &Store{home: abs, log: slog.Default(), noCleanup: true}
	for _, o := range opts {
		o(s)
	}
	s.readOnly = true
	fi, err := os.Stat(abs)
	if os.IsNotExist(err) {
		return nil, fmt.Errorf("store %s: %w", abs, ErrNoStore)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", abs, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("store %s: not a directory: %w", abs, ErrNoStore)
	}
	return s, nil
}

// ReadOnly reports whether the store was opened with [OpenReadOnly].
func (s *Store) ReadOnly() bool { return s.readOnly }
