package layertest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestTreeSums(t *testing.T) {
	root := t.TempDir()
	if got := TreeSums(t, filepath.Join(root, "missing")); got != nil {
		t.Fatalf("a missing root: %v, want nil", got)
	}
	if err := os.MkdirAll(filepath.Join(root, "d", "e"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "d", "f"), []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := TreeSums(t, root)
	want := map[string]string{".": "dir", "d": "dir", filepath.Join("d", "e"): "dir",
		filepath.Join("d", "f"): "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}
	if len(before) != len(want) {
		t.Fatalf("TreeSums = %v, want %v", before, want)
	}
	for k, v := range want {
		if before[k] != v {
			t.Errorf("%s: %q, want %q", k, before[k], v)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "d", "f"), []byte("abd"), 0o644); err != nil {
		t.Fatal(err)
	}
	if after := TreeSums(t, root); after[filepath.Join("d", "f")] == before[filepath.Join("d", "f")] {
		t.Error("a changed file kept its sum")
	}
}
