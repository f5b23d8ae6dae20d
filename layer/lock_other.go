//go:build !linux

package layer

import (
	"io"
	"os"
	"path/filepath"
)

// tryLock on systems without flock uses a lock file created exclusively;
// a crashed importer's lock file must then be removed by hand.
func tryLock(dir string) (func(), error) {
	p := filepath.Join(dir, ".lock")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	f.Close()
	return func() { os.Remove(p) }, nil
}

// syncFS is a no-op where syncfs(2) does not exist; files are synced one
// by one by the writer there.
func syncFS(dir string) error { return nil }

// renameNoReplace renames from to to, failing when to exists.
func renameNoReplace(from, to string) error {
	if _, err := os.Lstat(to); err == nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: os.ErrExist}
	}
	return os.Rename(from, to)
}

// openNoFollow opens a file for reading; callers check the path with Lstat first.
func openNoFollow(p string) (*os.File, error) { return os.Open(p) }

// killSelf ends the process at once, without cleanup.
func killSelf() {
	p, _ := os.FindProcess(os.Getpid())
	p.Kill()
	select {}
}

// openBeneath opens name under rootPath without following symlinks
// (component-wise Lstat walk).
func openBeneath(root *os.File, rootPath, name string) (*os.File, error) {
	return openBeneathWalk(rootPath, name)
}

// createExcl creates path exclusively for writing.
func createExcl(path string) (dataFile, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
}

// fileSink writes the data of the files an import creates; here it
// writes them in place.
type fileSink struct{}

func newSink() *fileSink { return &fileSink{} }

// createData creates the file that will hold size bytes of data.
func (s *fileSink) createData(path string, size int64) (dataFile, error) { return createExcl(path) }

// Err returns nil: writes fail where they happen.
func (s *fileSink) Err() error { return nil }

// Wait returns nil: every file was written when it was closed.
func (s *fileSink) Wait() error { return nil }

// Close returns nil: every file was written when it was closed.
func (s *fileSink) Close() error { return nil }

// payloadReader returns a reader of the first size bytes of f.
func payloadReader(f *os.File, size int64) io.ReadCloser {
	return io.NopCloser(io.LimitReader(f, size))
}
