//go:build unix

package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

func createTemp(dir, prefix string) (*os.File, func(), error) {
	sweep(dir, prefix)
	for {
		f, err := os.CreateTemp(dir, prefix+"*")
		if err != nil {
			return nil, nil, err
		}
		// The lock is on a descriptor of its own, so that the caller may
		// close f before its rename and still hold it until release.
		// A sweep that locked the file between its creation and the lock
		// below removed it (it removes only while holding the lock): the
		// name is gone, or is another file; start again.
		lk, err := os.OpenFile(f.Name(), os.O_RDONLY|unix.O_NOFOLLOW, 0)
		if errors.Is(err, fs.ErrNotExist) {
			f.Close()
			continue
		}
		if err == nil {
			err = flock(lk, unix.LOCK_EX)
		}
		if err != nil {
			if lk != nil {
				lk.Close()
			}
			f.Close()
			os.Remove(f.Name())
			return nil, nil, err
		}
		if still(f, f.Name()) {
			return f, func() { lk.Close() }, nil
		}
		lk.Close()
		f.Close()
	}
}

// sweep removes the files of dir named prefix… that no writer holds
// locked. Failures are ignored: the file stays for the next sweep.
func sweep(dir, prefix string) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, de := range des {
		if !strings.HasPrefix(de.Name(), prefix) || !de.Type().IsRegular() {
			continue
		}
		p := filepath.Join(dir, de.Name())
		lk, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
		if err != nil {
			continue
		}
		if flock(lk, unix.LOCK_EX|unix.LOCK_NB) == nil && still(lk, p) {
			os.Remove(p) // under the lock: see createTemp
		}
		lk.Close()
	}
}

// still reports whether the name p is still the file f.
func still(f *os.File, p string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Lstat(p)
	return err == nil && os.SameFile(a, b)
}

func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
