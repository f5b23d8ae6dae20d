package layer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
)

// Create makes an empty layer id with the given parent directories: an
// empty Files directory (mode 0755) to be filled through a mounted view,
// layerchain.json and winlayer's metadata. Like every commit it is staged
// and renamed into place. The parents follow the chain rules of
// [Store.NewWriter]. With [WithSandbox] the layer is a sandbox, laid out
// in staging and committed with the layer.
func (s *Store) Create(ctx context.Context, id string, parents []string, opts ...ImportOption) error {
	w, err := s.NewWriter(ctx, id, parents, opts...)
	if err != nil {
		return fmt.Errorf("create %s: %w", id, err)
	}
	w.dirty = true
	if c := importConfigOf(opts); c.sandboxFormat != nil {
		if err := makeSandbox(w.Dir(), c.sandboxSize, c.sandboxFormat); err != nil {
			w.Abort()
			return fmt.Errorf("create %s: %w", id, err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("create %s: %w", id, err)
	}
	return nil
}

// ReplaceImport imports r as the new content of the existing layer id
// (moby's ApplyDiff on a layer made with Create): the new layer is built
// in staging and exchanged with the old one atomically; the old content is
// deleted afterwards. On error the old layer is untouched. The parents
// follow the chain rules of [Store.NewWriter]. The contract is Import's:
// [WithVerify]'s hook sees the DiffID before the exchange, and a cancel of
// ctx that arrives with the end of the tar still aborts it (the old layer
// stays).
func (s *Store) ReplaceImport(ctx context.Context, id string, parents []string, r io.Reader, opts ...ImportOption) (int64, error) {
	if err := ValidateID(id); err != nil {
		return 0, fmt.Errorf("import %s: %w", id, err)
	}
	if !s.Exists(id) {
		return s.Import(ctx, id, parents, r, opts...)
	}
	w, err := s.newWriter(ctx, id, parents, opts)
	if err != nil {
		return 0, fmt.Errorf("import %s: %w", id, err)
	}
	w.replace = true
	return w.importAndFinish(ctx, id, r, opts)
}

// IsDirty reports whether layer id was changed through a mounted view.
func (s *Store) IsDirty(id string) bool {
	_, err := lstatBeneath(s.home, filepath.Join(id, metaDir, dirtyFile))
	return !errors.Is(err, fs.ErrNotExist)
}
