//go:build linux

package directio

import (
	"os"

	"golang.org/x/sys/unix"
)

// rawFile is a file written with plain system calls: creating a file
// through os.OpenFile costs four fcntl and an epoll_ctl on top of the
// open, which is most of the cost of a small file.
type rawFile struct {
	fd   int
	path string
}

// CreateExcl creates path exclusively (never through an existing name or
// symlink) for writing, as a file written with plain system calls.
func CreateExcl(path string) (File, error) {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, &os.PathError{Op: "create", Path: path, Err: err}
	}
	return &rawFile{fd: fd, path: path}, nil
}

func (f *rawFile) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := unix.Write(f.fd, p[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, &os.PathError{Op: "write", Path: f.path, Err: err}
		}
		n += m
	}
	return n, nil
}

func (f *rawFile) WriteAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		m, err := unix.Pwrite(f.fd, p[n:], off+int64(n))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, &os.PathError{Op: "write", Path: f.path, Err: err}
		}
		n += m
	}
	return n, nil
}

func (f *rawFile) Truncate(size int64) error {
	if err := unix.Ftruncate(f.fd, size); err != nil {
		return &os.PathError{Op: "truncate", Path: f.path, Err: err}
	}
	return nil
}

func (f *rawFile) Close() error {
	if err := unix.Close(f.fd); err != nil {
		return &os.PathError{Op: "close", Path: f.path, Err: err}
	}
	return nil
}
