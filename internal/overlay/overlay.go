package overlay

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Names of overlayfs' extended attributes, privileged and userxattr forms.
const (
	OpaqueXattr       = "trusted.overlay.opaque"
	WhiteoutXattr     = "trusted.overlay.whiteout"
	UserOpaqueXattr   = "user.overlay.opaque"
	UserWhiteoutXattr = "user.overlay.whiteout"
)

// IsWhiteoutAt reports whether p, whose Lstat is fi, is a whiteout: a
// character device 0/0, or an empty regular file with an overlay
// whiteout xattr.
func IsWhiteoutAt(p string, fi fs.FileInfo) bool {
	if IsWhiteoutDevice(fi) {
		return true
	}
	return fi.Mode().IsRegular() && fi.Size() == 0 && hasWhiteoutXattr(p)
}

// Lookup finds slash path p (rooted at "/" of the view) in the lower
// directories, nearest first, as overlayfs resolves it: it returns the
// directory that provides p, or ok false when p is not visible (absent,
// whited out, or hidden by an opaque directory on its way).
func Lookup(lowers []string, p string) (dir string, ok bool) {
	parts := splitPath(p)
	if len(parts) == 0 {
		return "", false
	}
	for _, l := range lowers {
		cur := l
		stop := false
		for i, c := range parts {
			cur = filepath.Join(cur, c)
			fi, err := os.Lstat(cur)
			if errors.Is(err, fs.ErrNotExist) {
				break // not in this layer: look below, unless opaque
			}
			if err != nil || IsWhiteoutAt(cur, fi) {
				return "", false
			}
			if i == len(parts)-1 {
				return l, true
			}
			if !fi.IsDir() {
				// A file in place of a directory of the path hides
				// everything below it.
				return "", false
			}
			if IsOpaque(cur) {
				stop = true
			}
		}
		if stop {
			return "", false
		}
	}
	return "", false
}

func splitPath(p string) []string {
	var parts []string
	for _, c := range strings.Split(path.Clean("/"+p), "/") {
		if c != "" {
			parts = append(parts, c)
		}
	}
	return parts
}

// Whiteout makes a whiteout at p in the best form this process can: a
// device (MakeWhiteout), else without privilege the xattr form
// (MakeUserWhiteout). The error satisfies NoPrivilege when neither can be
// made (no privilege and no user xattrs).
func Whiteout(p string) error {
	err := MakeWhiteout(p)
	if err != nil && NoPrivilege(err) {
		err = MakeUserWhiteout(p)
	}
	return err
}

// Opaque marks directory p opaque in the best form this process can:
// trusted.overlay.opaque, else user.overlay.opaque. The error satisfies
// NoPrivilege when neither can be set.
func Opaque(p string) error {
	err := MakeOpaque(p)
	if err != nil && NoPrivilege(err) {
		err = MakeUserOpaque(p)
	}
	return err
}
