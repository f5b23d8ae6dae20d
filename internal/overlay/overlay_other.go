//go:build !linux

package overlay

import (
	"errors"
	"io/fs"
)

// ErrNotSupported is returned where whiteouts cannot be made (outside Linux).
var ErrNotSupported = errors.New("overlay whiteouts not supported on this system")

// IsWhiteoutDevice is always false outside Linux.
func IsWhiteoutDevice(fi fs.FileInfo) bool { return false }

func hasWhiteoutXattr(p string) bool { return false }

// IsOpaque is always false outside Linux.
func IsOpaque(p string) bool { return false }

// MakeWhiteout is not supported outside Linux.
func MakeWhiteout(p string) error { return ErrNotSupported }

// MakeUserWhiteout is not supported outside Linux.
func MakeUserWhiteout(p string) error { return ErrNotSupported }

// MakeOpaque is not supported outside Linux.
func MakeOpaque(p string) error { return ErrNotSupported }

// MakeUserOpaque is not supported outside Linux.
func MakeUserOpaque(p string) error { return ErrNotSupported }

// NoPrivilege reports whether err means whiteouts cannot be made here.
func NoPrivilege(err error) bool { return errors.Is(err, ErrNotSupported) }
