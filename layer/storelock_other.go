//go:build !unix && !windows

package layer

import "sync"

// storeLock is the store lock where the system has no file locks: it
// excludes the goroutines of this process only.
type storeLock struct{}

var storeMu sync.Mutex

func sysMakeStoreLock(string) error { return nil }

func sysLockStore(string) (*storeLock, error) {
	storeMu.Lock()
	return &storeLock{}, nil
}

// unlock drops the lock.
func (l *storeLock) unlock() { storeMu.Unlock() }
