package nocache

import (
	"fmt"
	"io"

	"golang.org/x/sys/unix"
)

// setup turns chunked writeback on when the file is a regular file whose
// offset is known.
func (w *Writer) setup() {
	fi, err := w.f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return
	}
	// With O_APPEND (a shell's >>), every write lands at the end whatever
	// the offset says, so the end is where this Writer starts.
	whence := io.SeekCurrent
	if fl, err := unix.FcntlInt(w.f.Fd(), unix.F_GETFL, 0); err == nil && fl&unix.O_APPEND != 0 {
		whence = io.SeekEnd
	}
	off, err := w.f.Seek(0, whence)
	if err != nil {
		return
	}
	w.fd, w.base, w.on = int(w.f.Fd()), off, true
}

// advance starts writeback of every completed chunk and waits for and
// drops the chunks more than behind chunks back.
func (w *Writer) advance() error {
	for w.n-w.begun >= chunk {
		if !w.startWriteback(w.begun, chunk) {
			return nil
		}
		w.begun += chunk
	}
	for w.begun-w.done > behind*chunk {
		const wait = unix.SYNC_FILE_RANGE_WAIT_BEFORE | unix.SYNC_FILE_RANGE_WRITE | unix.SYNC_FILE_RANGE_WAIT_AFTER
		if err := unix.SyncFileRange(w.fd, w.base+w.done, chunk, wait); err != nil {
			return fmt.Errorf("write back %s at offset %d: %w", w.f.Name(), w.base+w.done, err)
		}
		// Dropping is advice: a failure changes only what stays cached.
		_ = unix.Fadvise(w.fd, w.base+w.done, chunk, unix.FADV_DONTNEED)
		w.done += chunk
	}
	return nil
}

// startWriteback asks the kernel to start writing back n bytes from
// offset off (relative to base) and reports whether the file system
// supports it; a file system that does not turns the Writer into a plain
// pass-through.
func (w *Writer) startWriteback(off, n int64) bool {
	if err := unix.SyncFileRange(w.fd, w.base+off, n, unix.SYNC_FILE_RANGE_WRITE); err != nil {
		w.on = false
		return false
	}
	return true
}
