package layer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestReadOnlyOpeners: the package-level Export and OpenReadOnly of a
// missing home fail with ErrNoStore naming it and create nothing; a
// read-only store refuses every change with ErrReadOnly.
func TestReadOnlyOpeners(t *testing.T) {
	home := filepath.Join(t.TempDir(), "missing")
	if _, err := Export(context.Background(), home, "x", nil); !errors.Is(err, ErrNoStore) {
		t.Errorf("Export of a missing store: %v, want ErrNoStore", err)
	}
	if _, err := OpenReadOnly(home); !errors.Is(err, ErrNoStore) {
		t.Errorf("OpenReadOnly of a missing store: %v", err)
	}
	if _, err := os.Lstat(home); err == nil {
		t.Fatal("a read-only opener created the store")
	}
	s := checkStore(t)
	ro, err := OpenReadOnly(s.Home())
	mustDo(t, err)
	for name, err := range map[string]error{
		"Remove":  ro.Remove(context.Background(), "top"),
		"Cleanup": ro.Cleanup(context.Background()),
		"Create":  ro.Create(context.Background(), "new", nil),
	} {
		if !errors.Is(err, ErrReadOnly) {
			t.Errorf("%s on a read-only store: %v, want ErrReadOnly", name, err)
		}
	}
}
