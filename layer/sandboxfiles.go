package layer

import (
	"os"
	"path/filepath"
	"strings"
)

// SandboxFilesLink is the target of a sandbox layer's Files symlink, made
// by the driver: the writable Files on the sandbox's own file system.
const SandboxFilesLink = ".winlayer/sandbox/Files"

// sandboxFiles returns where layer dir's Files are: dir/Files, or the
// sandbox's Files when dir/Files is exactly the link the driver makes (no
// other symlink is followed).
func sandboxFiles(dir string) string {
	files := filepath.Join(dir, "Files")
	if t, err := os.Readlink(files); err == nil && filepath.ToSlash(t) == SandboxFilesLink {
		p := dir
		for _, c := range strings.Split(SandboxFilesLink, "/") {
			p = filepath.Join(p, c)
			if fi, err := os.Lstat(p); err != nil || !fi.IsDir() {
				return files // a symlink or anything else on the way: not followed
			}
		}
		return p
	}
	return files
}

// openLayerFile opens name (slash form) of layer dir beneath root, or,
// for a name under Files of a sandbox layer, beneath the sandbox's Files;
// no other symlink is followed.
func openLayerFile(root *os.File, dir, name string) (*os.File, error) {
	files := sandboxFiles(dir)
	rest, under := strings.CutPrefix(name, "Files/")
	if files == filepath.Join(dir, "Files") || !under {
		return openBeneath(root, dir, name)
	}
	sr, err := os.Open(files)
	if err != nil {
		return nil, err
	}
	defer sr.Close()
	return openBeneath(sr, files, rest)
}
