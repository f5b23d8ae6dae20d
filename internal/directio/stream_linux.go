//go:build linux

package directio

import (
	"errors"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// streamBufSize is the size of a StreamWriter's two buffers and of its
// writes.
const streamBufSize = 256 << 10

// StreamWriter writes a file from start to end with O_DIRECT where the
// file system allows it (the last partial block through the page cache),
// on a goroutine of its own: the data is copied once, into an aligned
// buffer, instead of into the page cache and written back later, and the
// write overlaps with what the caller does next. Two buffers are in use.
// It does not sync: the caller fsyncs the file after Close for
// durability, as for any write.
type StreamWriter struct {
	f      *os.File
	fd     int
	direct bool
	cur    *[]byte
	n      int
	off    int64 // file offset of cur
	jobs   chan streamJob
	free   chan *[]byte
	done   chan struct{}
	err    error // the writer goroutine's, read after done or by Write
	errCh  chan error
	closed bool
}

type streamJob struct {
	buf   *[]byte
	n     int
	off   int64
	final bool
}

// NewStreamWriter starts writing f (an empty file opened for writing,
// which the caller closes after Close) from offset 0.
func NewStreamWriter(f *os.File) *StreamWriter {
	w := &StreamWriter{f: f, fd: int(f.Fd()), jobs: make(chan streamJob, 1), free: make(chan *[]byte, 2),
		done: make(chan struct{}), errCh: make(chan error, 1)}
	// Where the file system has no O_DIRECT, fcntl refuses and the file
	// is written through the page cache.
	w.direct = setDirect(w.fd, true) == nil
	for range 2 {
		w.free <- alignedSized(streamBufSize)
	}
	go w.run()
	return w
}

// alignedSized returns a buffer of n bytes aligned for O_DIRECT.
func alignedSized(n int) *[]byte {
	b := make([]byte, n+directAlign)
	off := 0
	if r := int(uintptr(unsafe.Pointer(&b[0])) & (directAlign - 1)); r != 0 {
		off = directAlign - r
	}
	b = b[off : off+n]
	return &b
}

func (w *StreamWriter) run() {
	defer close(w.done)
	var err error
	for j := range w.jobs {
		if err == nil {
			err = w.write(j)
			if err != nil {
				w.errCh <- err
			}
		}
		w.free <- j.buf
	}
	w.err = err
}

// write writes one buffer: whole blocks directly; the tail of the last
// one (not a multiple of the block size) through the page cache.
func (w *StreamWriter) write(j streamJob) error {
	b := (*j.buf)[:j.n]
	whole := len(b)
	if j.final && w.direct {
		whole &^= directAlign - 1
	}
	if !w.direct {
		whole = len(b)
	}
	err := pwriteAll(w.fd, b[:whole], j.off)
	if err == unix.EINVAL && w.direct {
		// The file system took O_DIRECT but refuses the write.
		if err = w.buffered(); err == nil {
			err = pwriteAll(w.fd, b[:whole], j.off)
		}
	}
	if err == nil && whole < len(b) {
		if err = w.buffered(); err == nil {
			err = pwriteAll(w.fd, b[whole:], j.off+int64(whole))
		}
	}
	if err != nil {
		return &os.PathError{Op: "write", Path: w.f.Name(), Err: err}
	}
	return nil
}

func (w *StreamWriter) buffered() error {
	if !w.direct {
		return nil
	}
	w.direct = false
	return setDirect(w.fd, false)
}

// Write copies p into the buffers, handing each full one to the writing
// goroutine. It returns the first error of an earlier write.
func (w *StreamWriter) Write(p []byte) (int, error) {
	if w.closed {
		return 0, errors.New("write after close")
	}
	select {
	case err := <-w.errCh:
		w.errCh <- err
		return 0, err
	default:
	}
	total := len(p)
	for len(p) > 0 {
		if w.cur == nil {
			w.cur, w.n = <-w.free, 0
		}
		c := copy((*w.cur)[w.n:], p)
		w.n += c
		p = p[c:]
		if w.n == len(*w.cur) {
			w.jobs <- streamJob{buf: w.cur, n: w.n, off: w.off}
			w.off += int64(w.n)
			w.cur = nil
		}
	}
	return total, nil
}

// Close writes what is left, waits for every write and returns the first
// error. The file stays open, in buffered mode.
func (w *StreamWriter) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.cur != nil {
		w.jobs <- streamJob{buf: w.cur, n: w.n, off: w.off, final: true}
		w.cur = nil
	}
	close(w.jobs)
	<-w.done
	if w.err == nil {
		w.err = w.buffered()
	}
	return w.err
}
