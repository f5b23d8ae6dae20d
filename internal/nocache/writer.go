package nocache

import (
	"bufio"
	"io"
	"os"
)

const (
	// chunk is how many bytes are written back with one call.
	chunk = 8 << 20
	// behind is how many complete chunks may be in writeback (or still
	// cached) before the oldest is waited for and dropped.
	behind = 4
)

// Writer writes to a file, keeping at most (behind+1)*chunk bytes of it in
// the page cache. It is not safe for concurrent use.
type Writer struct {
	f     *os.File
	fd    int
	base  int64 // the file offset of the first byte written
	n     int64 // bytes written
	begun int64 // bytes whose writeback was started (a multiple of chunk)
	done  int64 // bytes waited for and dropped (a multiple of chunk)
	on    bool  // false: plain pass-through
	err   error // the first error, sticky
}

// NewWriter returns a Writer that writes to f from its current offset.
// The caller keeps ownership of f and closes it after Close.
func NewWriter(f *os.File) *Writer {
	w := &Writer{f: f}
	w.setup()
	return w
}

// Write writes p to the file and then, for every chunk that p completed,
// starts its writeback and drops the chunks that are far enough behind.
// A write-back error (EIO, ENOSPC from delayed allocation) is returned
// from the Write that waits for the chunk, and from every call after.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.f.Write(p)
	w.n += int64(n)
	if err != nil {
		w.err = err
		return n, err
	}
	if w.on {
		if err := w.advance(); err != nil {
			w.err = err
			return n, err
		}
	}
	return n, nil
}

// ReadFrom copies r to the file through the same chunking, so io.Copy
// does not bypass it through the file's own ReadFrom (copy_file_range,
// splice).
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	buf := make([]byte, 1<<20)
	return io.CopyBuffer(struct{ io.Writer }{w}, r, buf)
}

// Close starts writeback of what is left, without waiting for it, and
// reports the first error of the Writer. It does not close the file.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if w.on && w.n > w.begun {
		w.startWriteback(w.begun, w.n-w.begun)
	}
	return nil
}

// Copy copies r to w through a 1 MiB buffer and returns the number of
// bytes copied. When w is an *os.File it writes through a Writer, so a
// regular file is written back and dropped from the cache as the copy goes.
func Copy(w io.Writer, r io.Reader) (int64, error) {
	var nw *Writer
	if f, ok := w.(*os.File); ok {
		nw = NewWriter(f)
		w = nw
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	n, err := io.Copy(bw, r)
	if err == nil {
		err = bw.Flush()
	}
	if nw != nil {
		if cerr := nw.Close(); err == nil {
			err = cerr
		}
	}
	return n, err
}
