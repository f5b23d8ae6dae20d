package image

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/winlayer/winlayer/layer"
)

// TestCollectRemovesDeadTemps: a collection with no pull running (image
// rm, winlayer cleanup) removes at once the temporary blob file a killed
// pull left (nobody holds it locked), and keeps the one a live writer
// holds; and the temporary index file of an index write killed before its
// rename. Before, a fresh blob one stayed for an hour, an index one for
// good (until the next change of the index).
func TestCollectRemovesDeadTemps(t *testing.T) {
	ls, err := layer.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := OpenStore(ls)
	live, err := s.newBlobWriter()
	if err != nil {
		t.Fatal(err)
	}
	defer live.abort()
	tmp := filepath.Join(ls.Home(), blobsDir, "tmp")
	deadIndex := filepath.Join(ls.Home(), imagesDir, "."+indexName+".tmp-123")
	if err := os.MkdirAll(filepath.Dir(deadIndex), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, dead := range []string{filepath.Join(tmp, "blob-123"), deadIndex} {
		if err := os.WriteFile(dead, []byte("half written"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Collect(); err != nil {
		t.Fatal(err)
	}
	for _, dead := range []string{filepath.Join(tmp, "blob-123"), deadIndex} {
		if _, err := os.Lstat(dead); !os.IsNotExist(err) {
			t.Errorf("the dead writer's %s stays after a collection: %v", dead, err)
		}
	}
	if _, err := os.Lstat(live.f.Name()); err != nil {
		t.Errorf("the live writer's file went: %v", err)
	}
}
