package image

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/winlayer/winlayer/internal/atomicfile"
)

// layoutWrite is a write into an OCI layout that a failure undoes: it
// knows what the directory was before and which blobs the write added.
// Undone, a directory the write created is removed whole; an existing
// layout gets its index.json back byte for byte and loses the blobs the
// write added that nothing in that index references (a blob that was
// there before is never removed).
type layoutWrite struct {
	dir       string
	created   string   // the topmost directory the write created; "" when dir existed
	index     []byte   // index.json before; nil: there was none
	hadMarker bool     // oci-layout was there
	newDirs   []string // blobs/sha256 and blobs when missing before, deepest first
	// wroteIndex: the write changed index.json (another writer's change
	// is not undone).
	wroteIndex bool

	mu    sync.Mutex
	added []v1.Hash
}

// beginLayout notes the state of dir before a write into it.
func beginLayout(dir string) (*layoutWrite, error) {
	w := &layoutWrite{dir: dir}
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		w.created = topMissing(dir)
		return w, nil
	} else if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	switch {
	case err == nil:
		w.index = b
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	_, err = os.Lstat(filepath.Join(dir, "oci-layout"))
	w.hadMarker = err == nil
	for _, d := range []string{filepath.Join(dir, "blobs", "sha256"), filepath.Join(dir, "blobs")} {
		if _, err := os.Lstat(d); errors.Is(err, fs.ErrNotExist) {
			w.newDirs = append(w.newDirs, d)
		}
	}
	return w, nil
}

// topMissing is the topmost directory of path that does not exist (the
// one MkdirAll(path) creates first).
func topMissing(path string) string {
	top := filepath.Clean(path)
	for {
		parent := filepath.Dir(top)
		if parent == top {
			return top
		}
		if _, err := os.Lstat(parent); err == nil {
			return top
		}
		top = parent
	}
}

// addBlob records that the write put blob d into the layout.
func (w *layoutWrite) addBlob(d v1.Hash) {
	w.mu.Lock()
	w.added = append(w.added, d)
	w.mu.Unlock()
}

// undo puts the layout back as beginLayout found it (see layoutWrite).
func (w *layoutWrite) undo() error {
	if w.created != "" {
		return os.RemoveAll(w.created)
	}
	var errs []error
	index := filepath.Join(w.dir, "index.json")
	if w.index == nil {
		if err := os.Remove(index); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	} else if now, err := os.ReadFile(index); w.wroteIndex && (err != nil || !bytes.Equal(now, w.index)) {
		if err := atomicfile.Write(index, w.index, 0o644); err != nil {
			errs = append(errs, err)
		}
	}
	if !w.hadMarker {
		if err := os.Remove(filepath.Join(w.dir, "oci-layout")); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	refs, err := layoutReferences(w.dir)
	if err != nil {
		// Which blobs the index needs is unknown: keep them all.
		return errors.Join(append(errs, fmt.Errorf("the blobs this write added are left: %w", err))...)
	}
	w.mu.Lock()
	added := w.added
	w.mu.Unlock()
	for _, d := range added {
		if refs[d] {
			continue
		}
		if err := os.Remove(blobPath(w.dir, d)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("blob %s: %w", d, err))
		}
	}
	for _, d := range w.newDirs {
		os.Remove(d) // only when empty: another writer's blobs stay
	}
	return errors.Join(errs...)
}

// layoutReferences lists every blob the layout's index.json reaches: its
// manifests and indexes, and their configs and layers (through the
// manifest blobs that are there). A layout without index.json references
// nothing.
func layoutReferences(dir string) (map[v1.Hash]bool, error) {
	refs := map[v1.Hash]bool{}
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return refs, nil
	}
	if err != nil {
		return nil, err
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "index.json"), err)
	}
	var walk func(descs []v1.Descriptor)
	walk = func(descs []v1.Descriptor) {
		for _, d := range descs {
			if refs[d.Digest] {
				continue
			}
			refs[d.Digest] = true
			raw, err := os.ReadFile(blobPath(dir, d.Digest))
			if err != nil {
				continue // missing or unreadable: nothing more it reaches
			}
			switch {
			case d.MediaType.IsIndex():
				if child, err := v1.ParseIndexManifest(bytes.NewReader(raw)); err == nil {
					walk(child.Manifests)
				}
			case d.MediaType.IsImage():
				if m, err := v1.ParseManifest(bytes.NewReader(raw)); err == nil {
					refs[m.Config.Digest] = true
					for _, l := range m.Layers {
						refs[l.Digest] = true
					}
				}
			}
		}
	}
	walk(im.Manifests)
	return refs, nil
}
