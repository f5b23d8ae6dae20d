// Package flock holds advisory locks on lock files: the layer store's
// <store>/.winlayer.lock and the image index's locks under <store>/.images.
// A lock is taken on a regular file, created if missing; a symlink where
// the lock file should be is refused, never followed (a store writes
// nothing outside itself), as is any other file that is not a regular
// file. flock(2) on Unix and LockFileEx on Windows, so the system drops a
// lock when its holder dies; elsewhere the lock excludes the goroutines
// of this process only.
package flock

import (
	"errors"
	"io/fs"
)

// Mode is how a lock is held.
type Mode int

// The modes: any number of Shared holders, or one Exclusive holder.
const (
	Exclusive Mode = iota
	Shared
)

// Errors the functions return, wrapped in an *fs.PathError naming the
// lock file.
var (
	// ErrSymlink: the lock file's path is a symlink (or another reparse
	// point on Windows); it is not followed.
	ErrSymlink = errors.New("a symlink where a lock file should be (not followed)")
	// ErrNotRegular: the lock file's path is a directory, device, FIFO or
	// socket.
	ErrNotRegular = errors.New("not a regular file")
	// ErrHeld: TryLock found the lock held by another holder.
	ErrHeld = errors.New("lock held by another holder")
)

// File is a held lock.
type File struct {
	unlock func()
}

// Lock takes the lock on the file at path, creating the file with perm
// (less the umask) if it is missing, and waits while another holder has
// it in a conflicting mode.
func Lock(path string, mode Mode, perm fs.FileMode) (*File, error) {
	return lock(path, mode, perm, false)
}

// TryLock is Lock without waiting: an error wrapping ErrHeld when another
// holder has the lock in a conflicting mode.
func TryLock(path string, mode Mode, perm fs.FileMode) (*File, error) {
	return lock(path, mode, perm, true)
}

// Create makes the lock file at path with perm if it is missing, and
// checks that it is a regular file, without locking it.
func Create(path string, perm fs.FileMode) error {
	f, err := open(path, perm)
	if err != nil {
		return err
	}
	return f.Close()
}

// Unlock releases the lock. It may be called more than once.
func (f *File) Unlock() {
	if f.unlock != nil {
		f.unlock()
		f.unlock = nil
	}
}
