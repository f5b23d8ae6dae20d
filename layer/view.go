package layer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Names of a sandbox in a layer's metadata directory.
const (
	sandboxImage = "sandbox.img" // the file system image of the writable files
	sandboxMount = "sandbox"     // its mount point; Files is a symlink into it
)

// View describes what must be mounted for the view of a layer (what a
// graph driver's Get returns), in the manner of containerd's overlay
// snapshotter: the store plans, a mounter executes. Directories are
// absolute; none of them is created or mounted by [Store.View].
type View struct {
	// ID is the layer id.
	ID string
	// Dir is the layer directory.
	Dir string
	// Parents are the parent layer directories as layerchain.json holds
	// them, nearest first.
	Parents []string
	// Lower are the read-only directories of the view, nearest first:
	// the parents' Files directories, preceded by the layer's own for a
	// read-only view.
	Lower []string
	// Upper is the layer's writable Files directory ("" for a read-only
	// view). A writable view with no Lower is Upper itself.
	Upper string
	// Work is overlayfs' work directory for Upper, on the same file
	// system ("" for a read-only view); the mounter creates it.
	Work string
	// ReadOnly is true for the view of an imported layer: mounted
	// read-only so that its export stays the imported bytes.
	ReadOnly bool
	// Sandboxes are the file systems that must be mounted before the
	// view: the layer's own sandbox first (when it is one), then those of
	// its parents, nearest first.
	Sandboxes []Sandbox
}

// Sandbox is a size-limited file system holding a writable layer's
// files (the counterpart of hcsshim's sandbox.vhdx): an image file and
// the directory it is mounted at.
type Sandbox struct {
	// ID is the layer id of the sandbox (the base name of its layer
	// directory).
	ID string
	// Image is the file system image.
	Image string
	// Dir is its mount point; the layer's Files is a symlink to Dir/Files.
	Dir string
}

// View returns what must be mounted for layer id's view. Layers made with
// [Store.Create] (or changed through a view) are writable: their Files is
// the upper directory over the parents' Files; imported layers are
// read-only. The error wraps [ErrNotExist] for a layer that is not in the
// store.
func (s *Store) View(ctx context.Context, id string) (View, error) {
	if err := ValidateID(id); err != nil {
		return View{}, fmt.Errorf("view %s: %w", id, err)
	}
	if err := ctx.Err(); err != nil {
		return View{}, fmt.Errorf("view %s: %w", id, err)
	}
	if !s.Exists(id) {
		return View{}, fmt.Errorf("view %s: %w", id, ErrNotExist)
	}
	dir := s.Dir(id)
	parents, err := ReadChain(dir)
	if err != nil {
		return View{}, fmt.Errorf("view %s: %w", id, err)
	}
	v := View{ID: id, Dir: dir, Parents: parents}
	files := filesDir(dir)
	if sb, ok := sandboxOf(dir); ok {
		v.Sandboxes = append(v.Sandboxes, sb)
	}
	for _, p := range parents {
		v.Lower = append(v.Lower, filesDir(p))
		if sb, ok := sandboxOf(p); ok {
			v.Sandboxes = append(v.Sandboxes, sb)
		}
	}
	if s.IsDirty(id) {
		v.Upper = files
		v.Work = filepath.Join(filepath.Dir(files), ".work-"+id)
	} else {
		v.ReadOnly = true
		v.Lower = append([]string{files}, v.Lower...)
	}
	return v, nil
}

// FilesDir returns the directory holding the files of layer directory
// dir: dir/Files, or for a sandbox the Files on the sandbox's file system
// (dir/.winlayer/sandbox/Files), whether it is mounted or not.
func FilesDir(dir string) string { return filesDir(dir) }

// filesDir is FilesDir: only the link the store makes for a sandbox is
// followed, nothing else.
func filesDir(dir string) string {
	files := filepath.Join(dir, "Files")
	if t, err := os.Readlink(files); err == nil && filepath.ToSlash(t) == SandboxFilesLink {
		return filepath.Join(dir, filepath.FromSlash(SandboxFilesLink))
	}
	return files
}

// sandboxOf returns the sandbox of layer directory dir, if it has one.
func sandboxOf(dir string) (Sandbox, bool) {
	img := filepath.Join(dir, metaDir, sandboxImage)
	if fi, err := os.Lstat(img); err != nil || !fi.Mode().IsRegular() {
		return Sandbox{}, false
	}
	return Sandbox{ID: filepath.Base(dir), Image: img, Dir: filepath.Join(dir, metaDir, sandboxMount)}, true
}

// SandboxFormatter makes a sandbox's file system image of size bytes at
// image (a new file), holding an empty directory Files with mode 0755. A
// driver's mounter provides it (mkfs.ext4 on Linux).
type SandboxFormatter func(image string, size int64) error

// WithSandbox makes [Store.Create] create a sandbox: the layer's writable
// files live on a file system of size bytes that format makes, and its
// Files is a symlink into the mount point of that file system. The image,
// the mount point and the link are made in the staging directory, so the
// sandbox is committed with the layer or not at all.
func WithSandbox(size int64, format SandboxFormatter) ImportOption {
	return func(c *importConfig) { c.sandboxSize, c.sandboxFormat = size, format }
}

// makeSandbox lays out a sandbox in the staging directory stage: the
// image, its mount point with a Files placeholder (what is seen while the
// file system is not mounted), and the Files link.
func makeSandbox(stage string, size int64, format SandboxFormatter) error {
	if format == nil {
		return errors.New("sandbox: no formatter")
	}
	meta := filepath.Join(stage, metaDir)
	if err := os.MkdirAll(filepath.Join(meta, sandboxMount, "Files"), 0o755); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	faultPoint("sandbox:mountpoint")
	if err := format(filepath.Join(meta, sandboxImage), size); err != nil {
		return fmt.Errorf("sandbox: format: %w", err)
	}
	faultPoint("sandbox:formatted")
	files := filepath.Join(stage, "Files")
	if err := os.Remove(files); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("sandbox: %w", err)
	}
	if err := os.Symlink(filepath.FromSlash(SandboxFilesLink), files); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	return nil
}
