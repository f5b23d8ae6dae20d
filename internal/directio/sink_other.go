//go:build !linux

package directio

import (
	"io"
	"os"
)

// CreateExcl creates path exclusively for writing.
func CreateExcl(path string) (File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
}

// Sink writes the data of the files an import creates; here it writes
// them in place.
type Sink struct{}

// NewSink returns a Sink.
func NewSink() *Sink { return &Sink{} }

// Create creates the file that will hold size bytes of data.
func (s *Sink) Create(path string, size int64) (File, error) { return CreateExcl(path) }

// Err returns nil: writes fail where they happen.
func (s *Sink) Err() error { return nil }

// Wait returns nil: every file was written when it was closed.
func (s *Sink) Wait() error { return nil }

// Close returns nil: every file was written when it was closed.
func (s *Sink) Close() error { return nil }

// PayloadReader returns a reader of the first size bytes of f.
func PayloadReader(f *os.File, size int64) io.ReadCloser {
	return io.NopCloser(io.LimitReader(f, size))
}
