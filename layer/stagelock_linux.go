//go:build linux

package layer

import (
	"os"

	"golang.org/x/sys/unix"
)

// stageLock is the lock file of a staging directory, held with flock(2).
// The kernel drops the lock when the holder dies, so the staging
// directory of an importer that was killed can be cleaned up.
type stageLock struct {
	dir  *os.File // the staging directory .staging
	name string   // the lock file's name in dir
	f    *os.File
}

// lockStage takes the lock file name in the staging directory dir. A new
// import (fresh) creates it exclusively and waits for a cleanup that may
// hold it for a moment; cleanup (!fresh) creates it if needed and does
// not wait ([errLockBusy]). Either way the lock is held only if the file
// is still the one at name once locked ([errLockLost] otherwise: a
// cleanup removed it). lockStage takes ownership of dir.
func lockStage(dir *os.File, name string, fresh bool) (*stageLock, error) {
	flags := unix.O_RDWR | unix.O_CREAT | unix.O_NOFOLLOW | unix.O_CLOEXEC
	if fresh {
		flags |= unix.O_EXCL
	}
	fd, err := unix.Openat(int(dir.Fd()), name, flags, 0o600)
	if err != nil {
		dir.Close()
		if err == unix.ELOOP {
			return nil, symlinkAt(dir.Name() + "/" + name)
		}
		if err == unix.EEXIST {
			return nil, errLockLost
		}
		return nil, &os.PathError{Op: "create", Path: dir.Name() + "/" + name, Err: err}
	}
	how := unix.LOCK_EX
	if !fresh {
		how |= unix.LOCK_NB
	}
	for {
		err = unix.Flock(fd, how)
		if err != unix.EINTR {
			break
		}
	}
	l := &stageLock{dir: dir, name: name, f: os.NewFile(uintptr(fd), dir.Name()+"/"+name)}
	if err != nil {
		l.close()
		if err == unix.EWOULDBLOCK {
			return nil, errLockBusy
		}
		return nil, &os.PathError{Op: "flock", Path: l.f.Name(), Err: err}
	}
	if err := l.held(); err != nil {
		l.close()
		return nil, err
	}
	return l, nil
}

// held checks that the locked file is still the one at its name.
func (l *stageLock) held() error {
	var a, b unix.Stat_t
	if err := unix.Fstat(int(l.f.Fd()), &a); err != nil {
		return &os.PathError{Op: "fstat", Path: l.f.Name(), Err: err}
	}
	if err := unix.Fstatat(int(l.dir.Fd()), l.name, &b, unix.AT_SYMLINK_NOFOLLOW); err != nil || a.Dev != b.Dev || a.Ino != b.Ino {
		return errLockLost
	}
	return nil
}

// release deletes the lock file, then drops the lock: whoever waited on
// it finds it gone ([errLockLost]).
func (l *stageLock) release() {
	unix.Unlinkat(int(l.dir.Fd()), l.name, 0)
	l.close()
}

func (l *stageLock) close() {
	if l.f != nil {
		l.f.Close()
	}
	l.dir.Close()
}

// stageLive reports whether the staging lock file at p is held by a live
// import, without taking it for long or changing anything: a shared
// non-blocking flock that fails means an import holds it.
func stageLive(p string) bool {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	for {
		err = unix.Flock(fd, unix.LOCK_SH|unix.LOCK_NB)
		if err != unix.EINTR {
			break
		}
	}
	return err == unix.EWOULDBLOCK
}
