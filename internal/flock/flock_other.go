//go:build !unix && !windows

package flock

import (
	"io/fs"
	"path/filepath"
	"sync"
)

// Where the system has no file locks, a lock excludes the goroutines of
// this process only: one read-write mutex per lock file path.
var (
	locksMu sync.Mutex
	locks   = map[string]*sync.RWMutex{}
)

func lock(path string, mode Mode, perm fs.FileMode, try bool) (*File, error) {
	f, err := open(path, perm)
	if err != nil {
		return nil, err
	}
	f.Close()
	key, err := filepath.Abs(path)
	if err != nil {
		key = filepath.Clean(path)
	}
	locksMu.Lock()
	mu := locks[key]
	if mu == nil {
		mu = new(sync.RWMutex)
		locks[key] = mu
	}
	locksMu.Unlock()
	switch {
	case mode == Shared && try:
		if !mu.TryRLock() {
			return nil, &fs.PathError{Op: "lock", Path: path, Err: ErrHeld}
		}
		return &File{unlock: mu.RUnlock}, nil
	case mode == Shared:
		mu.RLock()
		return &File{unlock: mu.RUnlock}, nil
	case try:
		if !mu.TryLock() {
			return nil, &fs.PathError{Op: "lock", Path: path, Err: ErrHeld}
		}
	default:
		mu.Lock()
	}
	return &File{unlock: mu.Unlock}, nil
}
