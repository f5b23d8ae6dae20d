package layertest

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestLeftovers: the store's own files are not leftovers; a layer, other
// debris and staging directories are.
func TestLeftovers(t *testing.T) {
	home := t.TempDir()
	if left, err := Leftovers(home); err != nil || len(left) != 0 {
		t.Fatalf("empty directory: %v, %v", left, err)
	}
	for _, d := range []string{".staging", "layer1"} {
		if err := os.Mkdir(filepath.Join(home, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{".winlayer.lock", "debris", ".staging/x.123"} {
		if err := os.WriteFile(filepath.Join(home, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	left, err := Leftovers(home)
	want := []string{"debris", "layer1", filepath.Join(".staging", "x.123")}
	if err != nil || !slices.Equal(left, want) {
		t.Errorf("Leftovers = %q, %v; want %q", left, err, want)
	}
	if _, err := Leftovers(filepath.Join(home, "missing")); !os.IsNotExist(err) {
		t.Errorf("Leftovers of a missing directory: %v", err)
	}
}
