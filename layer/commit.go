package layer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/winlayer/winlayer/wintar"
)

// Abort discards the layer being built. It is safe to call after Close
// or another Abort.
func (w *Writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.es.abort()
	w.idx.abort()
	if w.sink != nil {
		w.sink.Close()
	}
	return w.st.remove(w.s.home)
}

// Close finishes the last entry, writes the metadata and layerchain.json,
// flushes everything to stable storage and renames the layer into place.
// On an error before the rename the layer is discarded (the store is as
// before). Once renamed the layer is committed: the only error Close can
// then report wraps [ErrCommittedNotDurable] (the final flush of the
// store's directory failed). The staging lock is released in every case.
func (w *Writer) Close() error {
	if err := w.check(); err != nil {
		w.Abort()
		return err
	}
	committed, err := w.commit()
	if !committed {
		w.Abort()
		return fmt.Errorf("layer %s: %w", w.id, err)
	}
	w.done = true
	w.st.lock.release()
	if err != nil {
		return fmt.Errorf("layer %s: %w: %w", w.id, ErrCommittedNotDurable, err)
	}
	return nil
}

// commit writes the metadata, flushes and renames the layer into place;
// committed reports whether the rename happened (err is then only about
// durability).
func (w *Writer) commit() (committed bool, err error) {
	if err := w.finish(); err != nil {
		return false, err
	}
	if w.sink != nil {
		if err := w.sink.Close(); err != nil {
			return false, err
		}
	}
	if err := w.idx.close(); err != nil {
		return false, err
	}
	if err := os.MkdirAll(w.path(wintar.RootFiles), 0o755); err != nil {
		return false, err
	}
	if err := os.Chmod(w.path(wintar.RootFiles), 0o755); err != nil {
		return false, err
	}
	if err := os.Chmod(w.st.path, 0o755); err != nil {
		return false, err
	}
	var chain []string
	if len(w.parents) > 0 {
		chain = w.parents
	}
	b, _ := json.Marshal(chain)
	if err := os.WriteFile(filepath.Join(w.st.path, chainFile), b, chainMode); err != nil {
		return false, err
	}
	w.meta.Entries = w.idx.entries
	w.meta.Created = time.Now().UTC()
	mb, _ := json.MarshalIndent(w.meta, "", "  ")
	if err := os.WriteFile(filepath.Join(w.st.path, metaDir, metaFile), mb, 0o644); err != nil {
		return false, err
	}
	if w.dirty {
		if err := os.WriteFile(filepath.Join(w.st.path, metaDir, dirtyFile), nil, 0o644); err != nil {
			return false, err
		}
	}
	faultPoint("writer:before-sync")
	if err := faultErr("writer:before-sync"); err != nil {
		return false, err
	}
	if err := syncFS(w.st.path); err != nil {
		return false, err
	}
	if err := w.st.verify(w.s.home); err != nil {
		return false, err
	}
	faultPoint("writer:before-rename")
	if err := faultErr("writer:before-rename"); err != nil {
		return false, err
	}
	if err := w.place(); err != nil {
		return false, err
	}
	if w.replace {
		faultPoint("writer:after-exchange")
		serr := faultErr("writer:after-exchange")
		if serr == nil {
			serr = syncDir(w.s.home)
		}
		if err := removeAllBeneath(context.Background(), w.s.home, w.st.rel); err != nil {
			w.s.log.Warn("replaced layer's old content left for cleanup", "layer", w.id, "dir", w.st.path, "err", err)
		}
		return true, serr
	}
	faultPoint("writer:after-rename")
	if err := faultErr("writer:after-rename"); err != nil {
		return true, err
	}
	return true, syncDir(w.s.home)
}

// place puts the layer into place under the store lock (see
// storelock.go), once it has checked that every parent that was there
// when the Writer started still is: a [Store.Remove] of a parent either
// ran before (the commit fails, naming the parent) or waits and then
// sees this layer among the parent's dependants. A replacing Writer swaps
// the new layer with the old one in one step; the old one ends up in the
// staging directory, removed by commit or, if that fails, by the next
// Cleanup.
func (w *Writer) place() error {
	lk, err := w.s.lockStore()
	if err != nil {
		return err
	}
	defer lk.Unlock()
	faultPoint("writer:store-locked")
	if err := faultErr("writer:store-locked"); err != nil {
		return err
	}
	for _, p := range w.existed {
		if !w.s.parentExists(p) {
			return fmt.Errorf("parent %s was removed while the layer was being written: %w", w.s.chainKey(p), ErrNotExist)
		}
	}
	if w.replace {
		return exchange(w.st.path, w.s.Dir(w.id))
	}
	if err := renameNoReplace(w.st.path, w.s.Dir(w.id)); err != nil {
		if errors.Is(err, os.ErrExist) {
			return ErrExists
		}
		return err
	}
	return nil
}
