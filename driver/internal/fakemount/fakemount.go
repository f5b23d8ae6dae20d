// Package fakemount is the driver's Mounter that needs no privilege
// (exported as drivertest.FakeMounter), in its own package so that the
// driver's own tests can use it too.
package fakemount

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"sync"

	"github.com/winlayer/winlayer/internal/overlay"
	"github.com/winlayer/winlayer/layer"
)

// Mounter is a driver.Mounter that needs no privilege, for running
// the driver's logic (and drivertest.Suite) as any user. It "mounts" a view by
// copying it: the target becomes the merge of the view's directories
// under overlayfs' rules (whiteouts and opaque directories from
// internal/overlay), and unmounting a writable view copies what changed
// back into its upper directory — new and changed files, whiteouts for
// deleted ones (overlayfs' xattr form where devices cannot be made) —
// as an overlay mount would have written them. Changes made through a
// view thus reach the layer when it is put, not while it is mounted; a
// directory removed and made again gets whiteouts for its old entries
// rather than an opaque mark (the same view), and a lower directory's
// mode or owner changed through the view is not copied up. A
// writable view without lower directories is its upper directory
// itself. Sandboxes are plain image files of the asked size (no limit is
// enforced); their Files is the placeholder the store lays out. Every
// call is recorded ([Mounter.Calls]).
type Mounter struct {
	mu     sync.Mutex
	views  map[string]layer.View // by target
	calls  []string
	failOn map[string]error
}

// New returns a Mounter with nothing mounted.
func New() *Mounter {
	return &Mounter{views: map[string]layer.View{}, failOn: map[string]error{}}
}

// Calls returns the calls made so far, one line each ("mount <id> rw",
// "unmount <id>", "format", "mount-sandbox <id>", ...).
func (m *Mounter) Calls() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.calls...)
}

// Mounted returns the targets mounted now, sorted.
func (m *Mounter) Mounted() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for t := range m.views {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// FailOn makes the calls of kind op ("mount", "unmount", "format",
// "mount-sandbox", "unmount-sandbox", "grow-sandbox") fail with err (nil:
// succeed again).
func (m *Mounter) FailOn(op string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err == nil {
		delete(m.failOn, op)
	} else {
		m.failOn[op] = err
	}
}

func (m *Mounter) record(op, arg string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, op+" "+arg)
	return m.failOn[op]
}

// Mount copies the merged view into target.
func (m *Mounter) Mount(ctx context.Context, v layer.View, target string) (string, error) {
	mode := "rw"
	if v.ReadOnly {
		mode = "ro"
	}
	if err := m.record("mount", v.ID+" "+mode); err != nil {
		return "", err
	}
	if !v.ReadOnly && len(v.Lower) == 0 {
		return v.Upper, nil
	}
	if err := os.RemoveAll(target); err != nil {
		return "", err
	}
	if err := os.MkdirAll(target, 0o755); err != nil {
		return "", err
	}
	dirs := append([]string(nil), v.Lower...)
	if !v.ReadOnly {
		dirs = append([]string{v.Upper}, dirs...)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := applyLayer(dirs[i], target, "/"); err != nil {
			os.RemoveAll(target)
			return "", fmt.Errorf("fake mount %s: %w", v.ID, err)
		}
	}
	m.mu.Lock()
	m.views[target] = v
	m.mu.Unlock()
	return target, nil
}

// Unmount writes a writable view's changes back to its upper directory
// and removes the copy.
func (m *Mounter) Unmount(ctx context.Context, id, target string) error {
	if err := m.record("unmount", id); err != nil {
		return err
	}
	m.mu.Lock()
	v, ok := m.views[target]
	delete(m.views, target)
	m.mu.Unlock()
	if !ok {
		return nil
	}
	if !v.ReadOnly {
		if err := syncBack(target, v.Upper, v.Lower); err != nil {
			return fmt.Errorf("fake unmount %s: %w", id, err)
		}
	}
	return os.RemoveAll(target)
}

// FormatSandbox makes a sparse file of size bytes.
func (m *Mounter) FormatSandbox(ctx context.Context, image string, size int64) error {
	if err := m.record("format", filepath.Base(filepath.Dir(filepath.Dir(image)))); err != nil {
		return err
	}
	f, err := os.OpenFile(image, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// MountSandbox checks that the image is there.
func (m *Mounter) MountSandbox(ctx context.Context, sb layer.Sandbox) error {
	if err := m.record("mount-sandbox", sb.ID); err != nil {
		return err
	}
	_, err := os.Stat(sb.Image)
	return err
}

// UnmountSandbox does nothing.
func (m *Mounter) UnmountSandbox(ctx context.Context, sb layer.Sandbox) error {
	return m.record("unmount-sandbox", sb.ID)
}

// GrowSandbox grows the image file.
func (m *Mounter) GrowSandbox(ctx context.Context, sb layer.Sandbox, size int64) error {
	if err := m.record("grow-sandbox", sb.ID); err != nil {
		return err
	}
	fi, err := os.Stat(sb.Image)
	if err != nil {
		return err
	}
	if fi.Size() >= size {
		return nil
	}
	return os.Truncate(sb.Image, size)
}

// applyLayer lays directory src (slash path dir of it) over dst as
// overlayfs shows an upper layer over lower ones.
func applyLayer(src, dst, dir string) error {
	des, err := os.ReadDir(filepath.Join(src, filepath.FromSlash(dir)))
	if err != nil {
		return err
	}
	for _, de := range des {
		p := path.Join(dir, de.Name())
		s := filepath.Join(src, filepath.FromSlash(p))
		d := filepath.Join(dst, filepath.FromSlash(p))
		fi, err := os.Lstat(s)
		if err != nil {
			return err
		}
		if overlay.IsWhiteoutAt(s, fi) {
			if err := os.RemoveAll(d); err != nil {
				return err
			}
			continue
		}
		if fi.IsDir() {
			if dfi, err := os.Lstat(d); err == nil && (!dfi.IsDir() || overlay.IsOpaque(s)) {
				if err := os.RemoveAll(d); err != nil {
					return err
				}
			}
			if err := os.Mkdir(d, fi.Mode().Perm()); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
			if err := applyLayer(src, dst, p); err != nil {
				return err
			}
			continue
		}
		if err := os.RemoveAll(d); err != nil {
			return err
		}
		if err := copyEntry(s, d, fi); err != nil {
			return err
		}
	}
	return nil
}

// copyEntry copies a regular file or symlink (other kinds are skipped).
func copyEntry(src, dst string, fi fs.FileInfo) error {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		t, err := os.Readlink(src)
		if err != nil {
			return err
		}
		return os.Symlink(t, dst)
	case fi.Mode().IsRegular():
		in, err := os.Open(src)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, fi.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	}
	return nil
}

// syncBack records in upper what differs between the view copy target
// and the lower directories: the copy-up and whiteouts an overlay mount
// would have made.
func syncBack(target, upper string, lowers []string) error {
	seen := map[string]bool{}
	err := filepath.WalkDir(target, func(full string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(target, full)
		if rel == "." {
			return nil
		}
		p := "/" + filepath.ToSlash(rel)
		seen[p] = true
		fi, err := os.Lstat(full)
		if err != nil {
			return err
		}
		up := filepath.Join(upper, rel)
		ufi, uerr := os.Lstat(up)
		if uerr == nil && overlay.IsWhiteoutAt(up, ufi) {
			if err := os.Remove(up); err != nil {
				return err
			}
			uerr = fs.ErrNotExist
		}
		if fi.IsDir() {
			if uerr == nil && ufi.IsDir() {
				return nil
			}
			if _, below := overlay.Lookup(lowers, p); below && uerr != nil {
				return nil // created on demand when something under it changes
			}
			if uerr == nil {
				if err := os.RemoveAll(up); err != nil {
					return err
				}
			}
			return os.MkdirAll(up, fi.Mode().Perm())
		}
		var ref string
		if uerr == nil {
			ref = up
		} else if dir, below := overlay.Lookup(lowers, p); below {
			ref = filepath.Join(dir, rel)
		}
		if ref != "" && sameEntry(full, ref) {
			return nil
		}
		if err := os.MkdirAll(filepath.Dir(up), 0o755); err != nil {
			return err
		}
		if err := os.RemoveAll(up); err != nil {
			return err
		}
		return copyEntry(full, up, fi)
	})
	if err != nil {
		return err
	}
	// Deletions: what the upper directory or the lowers show that the
	// copy no longer has.
	for _, dir := range append([]string{upper}, lowers...) {
		if err := whiteoutGone(dir, upper, lowers, seen); err != nil {
			return err
		}
	}
	return nil
}

// whiteoutGone walks dir and, for each visible path missing from the view
// (not in seen), removes it from upper and whites it out when a lower
// directory still shows it.
func whiteoutGone(dir, upper string, lowers []string, seen map[string]bool) error {
	return filepath.WalkDir(dir, func(full string, de fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(dir, full)
		if rel == "." {
			return nil
		}
		p := "/" + filepath.ToSlash(rel)
		fi, err := os.Lstat(full)
		if err != nil {
			return err
		}
		up := filepath.Join(upper, rel)
		if seen[p] {
			if ufi, err := os.Lstat(up); err == nil && fi.IsDir() && dir != upper && (!ufi.IsDir() || overlay.IsOpaque(up)) {
				return filepath.SkipDir // hidden by the upper directory
			}
			return nil
		}
		if overlay.IsWhiteoutAt(full, fi) {
			return nil
		}
		if dir == upper {
			if err := os.RemoveAll(up); err != nil {
				return err
			}
		}
		if _, below := overlay.Lookup(lowers, p); below {
			if ufi, err := os.Lstat(up); err == nil && overlay.IsWhiteoutAt(up, ufi) {
				return skipDir(fi)
			}
			if err := os.MkdirAll(filepath.Dir(up), 0o755); err != nil {
				return err
			}
			if err := os.RemoveAll(up); err != nil {
				return err
			}
			if err := overlay.Whiteout(up); err != nil {
				return err
			}
		}
		seen[p] = true // handled: not again from another directory
		return skipDir(fi)
	})
}

func skipDir(fi fs.FileInfo) error {
	if fi.IsDir() {
		return filepath.SkipDir
	}
	return nil
}

// sameEntry reports whether a and b are the same kind with the same
// content (regular files) or target (symlinks).
func sameEntry(a, b string) bool {
	fa, err1 := os.Lstat(a)
	fb, err2 := os.Lstat(b)
	if err1 != nil || err2 != nil || fa.Mode().Type() != fb.Mode().Type() || fa.Mode().Perm() != fb.Mode().Perm() {
		return false
	}
	if fa.Mode()&fs.ModeSymlink != 0 {
		ta, _ := os.Readlink(a)
		tb, _ := os.Readlink(b)
		return ta == tb
	}
	if !fa.Mode().IsRegular() || fa.Size() != fb.Size() {
		return false
	}
	return sameContent(a, b)
}

func sameContent(a, b string) bool {
	fa, err := os.Open(a)
	if err != nil {
		return false
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return false
	}
	defer fb.Close()
	ba, bb := make([]byte, 64<<10), make([]byte, 64<<10)
	for {
		na, ea := io.ReadFull(fa, ba)
		nb, eb := io.ReadFull(fb, bb)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			return false
		}
		if ea != nil || eb != nil {
			return (ea == io.EOF || ea == io.ErrUnexpectedEOF) && (eb == io.EOF || eb == io.ErrUnexpectedEOF)
		}
	}
}
