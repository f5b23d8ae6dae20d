package cli

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/winlayer/winlayer/layer"
)

// importResult is what `import --json` prints.
type importResult struct {
	ID      string `json:"id"`
	Size    int64  `json:"size"`
	DiffID  string `json:"diff_id,omitempty"`
	TarSize int64  `json:"tar_size,omitempty"`
	Entries int    `json:"entries"`
	// Parents are the parent layer ids, nearest first (a parent outside
	// the store by its path).
	Parents []string `json:"parents"`
	Dir     string   `json:"dir"`
}

// printImportJSON prints the just imported layer id as one JSON object on
// standard output: size is what the text form prints on its first line.
func printImportJSON(ctx context.Context, o *options, s *layer.Store, id string, size int64) error {
	m, err := s.Meta(ctx, id)
	if err != nil {
		return fmt.Errorf("import %s: imported, but reading its metadata: %w", id, err)
	}
	chain, err := layer.ReadChain(s.Dir(id))
	if err != nil {
		return fmt.Errorf("import %s: imported, but reading its parents: %w", id, err)
	}
	parents := []string{}
	for _, p := range chain {
		if filepath.Dir(p) == filepath.Clean(s.Home()) {
			p = filepath.Base(p)
		}
		parents = append(parents, p)
	}
	return writeJSON(o.stdout, importResult{ID: id, Size: size, DiffID: m.DiffID, TarSize: m.TarSize,
		Entries: m.Entries, Parents: parents, Dir: s.Dir(id)})
}
