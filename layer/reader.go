package layer

import (
	"context"
	"fmt"
	"io"
)

// exportFromIndex is the export of a layer that has no tar-split record
// (built through a Writer): implemented in the Reader path.
func (s *Store) exportFromIndex(ctx context.Context, id string) (io.ReadCloser, error) {
	return nil, fmt.Errorf("export %s: layer has no tar-split record: %w", id, ErrCorrupt)
}
