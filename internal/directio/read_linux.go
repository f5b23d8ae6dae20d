//go:build linux

package directio

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// PayloadReader returns a reader of the first size bytes of f. A large
// file whose data is not in the page cache (an import writes large files
// with O_DIRECT) is read with O_DIRECT, ahead of the caller on a
// goroutine, so that reading it neither fills the page cache nor waits
// for the disk between writes of the export. Closing the reader does not
// close f.
func PayloadReader(f *os.File, size int64) io.ReadCloser {
	if size < DirectMin {
		return io.NopCloser(io.LimitReader(f, size))
	}
	fd := int(f.Fd())
	if cachedPages(fd, size)*2 >= (size+directAlign-1)/directAlign {
		// Mostly in the page cache: read it there.
		return io.NopCloser(io.LimitReader(f, size))
	}
	if setDirect(fd, true) != nil {
		return io.NopCloser(io.LimitReader(f, size))
	}
	r := &aheadReader{
		ch:   make(chan aheadChunk, 3),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go r.fill(fd, f.Name(), size)
	return r
}

// cachedPages returns how many of the pages of the first size bytes of
// fd are in the page cache (0 where the kernel cannot tell: before Linux
// 6.5). Unlike a RWF_NOWAIT read, asking starts no readahead.
func cachedPages(fd int, size int64) int64 {
	var cs unix.Cachestat_t
	if err := unix.Cachestat(uint(fd), &unix.CachestatRange{Len: uint64(size)}, &cs, 0); err != nil {
		return 0
	}
	return int64(cs.Cache)
}

// aheadReader reads a file on its own goroutine into aligned buffers.
type aheadReader struct {
	ch   chan aheadChunk
	cur  aheadChunk
	off  int
	stop chan struct{}
	done chan struct{}
	err  error
}

type aheadChunk struct {
	buf *[]byte
	n   int
	err error
}

func (r *aheadReader) fill(fd int, name string, size int64) {
	defer close(r.done)
	defer close(r.ch)
	direct := true
	for off := int64(0); off < size; {
		buf := alignedBufs.Get().(*[]byte)
		n, err := unix.Pread(fd, *buf, off)
		if err == unix.EINTR {
			alignedBufs.Put(buf)
			continue
		}
		if err == unix.EINVAL && direct {
			// The file system refuses after all: read through the cache.
			alignedBufs.Put(buf)
			direct = false
			if err := setDirect(fd, false); err != nil {
				r.send(aheadChunk{err: &os.PathError{Op: "fcntl", Path: name, Err: err}})
				return
			}
			continue
		}
		c := aheadChunk{buf: buf, n: n}
		if err != nil {
			c.err = &os.PathError{Op: "read", Path: name, Err: err}
		} else if n == 0 {
			c.err = io.EOF
		}
		if rest := size - off; int64(c.n) > rest {
			c.n = int(rest)
		}
		off += int64(c.n)
		if !r.send(c) || c.err != nil {
			return
		}
	}
	r.send(aheadChunk{err: io.EOF})
}

func (r *aheadReader) send(c aheadChunk) bool {
	select {
	case r.ch <- c:
		return true
	case <-r.stop:
		if c.buf != nil {
			alignedBufs.Put(c.buf)
		}
		return false
	}
}

// next gives back the current chunk's buffer and takes the next chunk;
// it returns false once the reader has met its error (io.EOF at the end).
func (r *aheadReader) next() bool {
	if r.cur.buf != nil {
		alignedBufs.Put(r.cur.buf)
		r.cur.buf = nil
	}
	if r.err != nil {
		return false
	}
	c, ok := <-r.ch
	if !ok {
		r.err = io.EOF
		return false
	}
	r.cur, r.off = c, 0
	if c.err != nil {
		r.err = c.err
	}
	return true
}

func (r *aheadReader) Read(p []byte) (int, error) {
	for r.cur.buf == nil || r.off == r.cur.n {
		if !r.next() {
			return 0, r.err
		}
	}
	n := copy(p, (*r.cur.buf)[r.off:r.cur.n])
	r.off += n
	return n, nil
}

// WriteTo writes the rest of the file to w without an extra copy.
func (r *aheadReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if r.cur.buf != nil && r.off < r.cur.n {
			n, err := w.Write((*r.cur.buf)[r.off:r.cur.n])
			total += int64(n)
			r.off += n
			if err != nil {
				return total, err
			}
		}
		if !r.next() {
			if errors.Is(r.err, io.EOF) {
				return total, nil
			}
			return total, r.err
		}
	}
}

// Close stops the goroutine and gives back the buffers.
func (r *aheadReader) Close() error {
	close(r.stop)
	for c := range r.ch {
		if c.buf != nil {
			alignedBufs.Put(c.buf)
		}
	}
	<-r.done
	if r.cur.buf != nil {
		alignedBufs.Put(r.cur.buf)
		r.cur.buf = nil
	}
	return nil
}
