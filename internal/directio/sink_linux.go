//go:build linux

package directio

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// An import hands the data of its regular files to a Sink: the
// import loop only copies the bytes into a buffer, and a few goroutines
// write them out, so that the kernel's side of writing (which is most of
// what extracting a layer costs) runs beside the tar parsing instead of
// after it, and device round trips overlap.
//
// Files of DirectWriteMin bytes and more are written with O_DIRECT: their
// data goes from the buffer to the disk without passing through the page
// cache. Filling the page cache means finding, zeroing and accounting a
// page for every 4 KiB and writing it back later at syncfs (and, in a
// virtual machine whose memory the host hands out on first touch, a host
// page fault for every fresh page: there a page cache write costs several
// times the copy); a direct write costs a device round trip instead,
// which the sink's workers overlap. The last partial block of such a file
// goes through the page cache.
const (
	directAlign = 4096
	// BufSize is the size of the sink's buffers: files are written in
	// writes of this size.
	BufSize     = 512 << 10
	sinkBufs    = 16 // buffers in flight: at most 8 MiB
	sinkWorkers = 4
	// sinkMin is the size below which a file is written in place: for
	// a few kilobytes, the hand-off costs more than the write.
	sinkMin = 16 << 10
)

// DirectMin is the size from which a file that is not in the page cache
// is read with O_DIRECT (a variable for the tests).
var DirectMin int64 = 1 << 20

// DirectWriteMin is the size from which the sink writes a file with
// O_DIRECT (a variable for the tests). Each direct write is a device round
// trip, four at a time, where the page cache takes a smaller file at once
// and writeback merges many: on a disk of high latency (a spinning disk,
// network block storage) thousands of direct-written small files would
// cost more than their pages. Measured on this project's VM, writing the
// pull benchmark's 7,400 files of 16–64 KiB with O_DIRECT cut the system
// time only while the page cache was filling memory the host had taken
// back (1.1–1.9×), and changed nothing otherwise: 1 MiB stays the default.
var DirectWriteMin int64 = 1 << 20

// Sink writes the data of the files an import creates (see the package
// documentation). Create a file with [Sink.Create]; Close waits for
// everything.
type Sink struct {
	jobs    chan sinkJob
	free    chan *[]byte
	made    int
	workers sync.WaitGroup
	files   sync.WaitGroup // files not yet closed
	started bool

	// Files under sinkMin bytes are created and written, in the order
	// they come, by one goroutine of their own (one, so that creating
	// files does not contend for the directories' locks).
	small        chan []*smallFile
	batch        []*smallFile // closed small files not yet handed over
	smallFree    chan *[]byte
	smallMade    int
	smallStarted bool
	smallDone    sync.WaitGroup

	mu  sync.Mutex
	err error
}

// smallBufs is how many small files can wait for their goroutine;
// smallBatch how many are handed to it at once: one hand-off per file
// woke the goroutine for every file (25,000 files: 24,000 futex calls).
const (
	smallBufs  = 64
	smallBatch = 16
)

type sinkJob struct {
	f     *sinkFile
	buf   *[]byte
	n     int
	off   int64
	final bool
}

// NewSink returns a Sink; its goroutines start with the first file.
func NewSink() *Sink {
	return &Sink{
		jobs: make(chan sinkJob, sinkBufs), free: make(chan *[]byte, sinkBufs),
		small: make(chan []*smallFile, smallBufs/smallBatch), smallFree: make(chan *[]byte, smallBufs),
	}
}

// alignedBuf returns a buffer of BufSize bytes aligned for O_DIRECT.
func alignedBuf() *[]byte {
	b := make([]byte, BufSize+directAlign)
	off := int(uintptr(unsafe.Pointer(&b[0])) & (directAlign - 1))
	if off != 0 {
		off = directAlign - off
	}
	b = b[off : off+BufSize]
	return &b
}

// alignedBufs holds the aligned buffers of payload readers.
var alignedBufs = sync.Pool{New: func() any { return alignedBuf() }}

func (s *Sink) getBuf() *[]byte {
	select {
	case b := <-s.free:
		return b
	default:
	}
	if s.made < sinkBufs {
		s.made++
		return alignedBuf()
	}
	return <-s.free
}

func (s *Sink) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
}

// Err returns the first error a write or close met.
func (s *Sink) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *Sink) submit(j sinkJob) {
	if !s.started {
		s.started = true
		for i := 0; i < sinkWorkers; i++ {
			s.workers.Add(1)
			go s.work()
		}
	}
	j.f.pending.Add(1)
	s.jobs <- j
}

func (s *Sink) work() {
	defer s.workers.Done()
	for j := range s.jobs {
		f := j.f
		b := (*j.buf)[:j.n]
		whole := j.n
		if j.final {
			whole = 0
			if f.direct.Load() {
				whole = j.n &^ (directAlign - 1)
			}
		}
		err := pwriteAll(f.fd, b[:whole], j.off)
		if err == unix.EINVAL && f.direct.Load() {
			// The file system took O_DIRECT but refuses the write:
			// write this file through the page cache.
			if err = f.buffered(); err == nil {
				err = pwriteAll(f.fd, b[:whole], j.off)
			}
		}
		if err != nil {
			s.fail(&os.PathError{Op: "write", Path: f.path, Err: err})
		}
		if j.final {
			f.tail, f.tailLo = j.buf, whole
		} else {
			s.free <- j.buf
		}
		f.release()
	}
}

// Close waits until every file handed to the sink is written and closed,
// stops its goroutines and returns the first error.
func (s *Sink) Close() error {
	s.flushSmall()
	s.files.Wait()
	if s.started {
		close(s.jobs)
		s.workers.Wait()
		s.started = false
		s.jobs = make(chan sinkJob, sinkBufs)
	}
	if s.smallStarted {
		close(s.small)
		s.smallDone.Wait()
		s.smallStarted = false
		s.small = make(chan []*smallFile, smallBufs/smallBatch)
	}
	return s.Err()
}

// Wait waits until every file handed to the sink so far is on disk and
// closed, and returns the first error.
func (s *Sink) Wait() error {
	s.flushSmall()
	s.files.Wait()
	return s.Err()
}

// smallFile is a file under sinkMin bytes: its data is kept until Close,
// then the sink's small-file goroutine creates and writes it.
type smallFile struct {
	s    *Sink
	path string
	buf  *[]byte
	n    int
}

func (f *smallFile) Write(p []byte) (int, error) {
	if err := f.s.Err(); err != nil {
		return 0, err
	}
	f.getBuf()
	if f.n+len(p) > len(*f.buf) {
		return 0, f.tooLong()
	}
	f.n += copy((*f.buf)[f.n:], p)
	return len(p), nil
}

// ReadFromN reads up to n bytes from r straight into the file's buffer.
func (f *smallFile) ReadFromN(r io.Reader, n int64) (int64, bool, error) {
	if err := f.s.Err(); err != nil {
		return 0, true, err
	}
	f.getBuf()
	if int64(f.n)+n > int64(len(*f.buf)) {
		return 0, true, f.tooLong()
	}
	var total int64
	for total < n {
		m, err := r.Read((*f.buf)[f.n : f.n+int(n-total)])
		f.n += m
		total += int64(m)
		if err != nil {
			return total, false, err
		}
	}
	return total, false, nil
}

func (f *smallFile) getBuf() {
	if f.buf != nil {
		return
	}
	select {
	case f.buf = <-f.s.smallFree:
	default:
		if f.s.smallMade < smallBufs {
			f.s.smallMade++
			b := make([]byte, sinkMin)
			f.buf = &b
		} else {
			// The buffers come back as the goroutine writes the files
			// handed to it: hand it those still waiting here first.
			f.s.flushSmall()
			f.buf = <-f.s.smallFree
		}
	}
}

func (f *smallFile) tooLong() error {
	return &os.PathError{Op: "write", Path: f.path, Err: errors.New("more data than its stream header said")}
}

// WriteAt and Truncate are for sparse files, which are not small files.
func (f *smallFile) WriteAt(p []byte, off int64) (int, error) {
	return 0, &os.PathError{Op: "write", Path: f.path, Err: errors.ErrUnsupported}
}

func (f *smallFile) Truncate(size int64) error {
	return &os.PathError{Op: "truncate", Path: f.path, Err: errors.ErrUnsupported}
}

// Close queues the file for the small-file goroutine, which gets the
// files in batches.
func (f *smallFile) Close() error {
	s := f.s
	s.batch = append(s.batch, f)
	if len(s.batch) >= smallBatch {
		s.flushSmall()
	}
	return nil
}

// flushSmall hands the queued small files to their goroutine.
func (s *Sink) flushSmall() {
	if len(s.batch) == 0 {
		return
	}
	if !s.smallStarted {
		s.smallStarted = true
		s.smallDone.Add(1)
		go s.writeSmall()
	}
	s.small <- s.batch
	s.batch = make([]*smallFile, 0, smallBatch)
}

func (s *Sink) writeSmall() {
	defer s.smallDone.Done()
	for batch := range s.small {
		for _, f := range batch {
			var data []byte
			if f.buf != nil {
				data = (*f.buf)[:f.n]
			}
			if err := writeNew(f.path, data); err != nil {
				s.fail(err)
			}
			if f.buf != nil {
				s.smallFree <- f.buf
			}
			s.files.Done()
		}
	}
}

// writeNew creates path exclusively and writes data to it.
func writeNew(path string, data []byte) error {
	df, err := CreateExcl(path)
	if err != nil {
		return err
	}
	_, err = df.Write(data)
	if cerr := df.Close(); err == nil {
		err = cerr
	}
	return err
}

// startWriteback starts writing back what the file has in the page cache,
// without waiting. The commit's syncfs would write it all anyway, after
// the import and in one go; started here, the writing overlaps the rest
// of the import and the syncfs only waits for what is still in flight.
// Advice only: an error changes nothing but when the data is written.
// Small files are left to syncfs: a call per file of a few KiB costs
// more than it moves (100,000 files of 0.1–4 KiB took twice as long).
func startWriteback(fd int) {
	_ = unix.SyncFileRange(fd, 0, 0, unix.SYNC_FILE_RANGE_WRITE)
}

func pwriteAll(fd int, p []byte, off int64) error {
	for len(p) > 0 {
		m, err := unix.Pwrite(fd, p, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if m == 0 {
			return errors.New("short write")
		}
		p, off = p[m:], off+int64(m)
	}
	return nil
}

// Fallocate is unix.Fallocate (a variable for the tests).
var Fallocate = unix.Fallocate

// allocUnsupported reports whether a fallocate error only says that the
// file system cannot preallocate (the file is then written without).
func allocUnsupported(err error) bool {
	return errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS)
}

// sinkFile is a data file written through the sink.
type sinkFile struct {
	s      *Sink
	fd     int
	path   string
	direct atomic.Bool // O_DIRECT is set on fd
	buf    *[]byte
	n      int
	off    int64 // file offset of buf[0]

	pending atomic.Int32 // the Writer's reference and the jobs in flight
	tail    *[]byte      // the final buffer, whose bytes from tailLo are left to write
	tailLo  int
	tailN   int
}

// Create creates the file that will hold size bytes of data.
func (s *Sink) Create(path string, size int64) (File, error) {
	if size < sinkMin {
		s.files.Add(1)
		return &smallFile{s: s, path: path}, nil
	}
	f, err := CreateExcl(path)
	if err != nil {
		return nil, err
	}
	raw := f.(*rawFile)
	sf := &sinkFile{s: s, fd: raw.fd, path: path}
	if size >= DirectWriteMin && setDirect(raw.fd, true) == nil {
		// (Where the file system has no O_DIRECT, fcntl refuses and the
		// file is written through the page cache.)
		sf.direct.Store(true)
		// A file of more than one write is allocated whole first: every
		// direct write is then an overwrite inside the file's size,
		// which ext4 lets the workers do side by side (writes that
		// extend a file take the inode lock exclusively and wait for
		// the device under it); it also keeps the file contiguous and
		// fails a file that cannot fit before any of it is written.
		// Any error but "not supported here" is fatal: EFBIG or EINVAL
		// means the file cannot have that size, and writing on would
		// only fail later (or fill the disk first). A file of one write
		// is not: nothing to write side by side, and a direct write into
		// a hole needs no conversion of preallocated blocks afterwards.
		if size > BufSize {
			if err := Fallocate(raw.fd, 0, 0, size); err != nil && !allocUnsupported(err) {
				unix.Close(raw.fd)
				return nil, &os.PathError{Op: fmt.Sprintf("allocate %d bytes for", size), Path: path, Err: err}
			}
		}
	}
	sf.pending.Store(1)
	s.files.Add(1)
	return sf, nil
}

func (f *sinkFile) Write(p []byte) (int, error) {
	if err := f.s.Err(); err != nil {
		return 0, err
	}
	total := len(p)
	for len(p) > 0 {
		if f.buf == nil {
			f.buf = f.s.getBuf()
		}
		c := copy((*f.buf)[f.n:], p)
		f.n += c
		p = p[c:]
		if f.n == BufSize {
			f.s.submit(sinkJob{f: f, buf: f.buf, n: f.n, off: f.off})
			f.off += int64(f.n)
			f.buf, f.n = nil, 0
		}
	}
	return total, nil
}

// ReadFromN reads up to n bytes from r into the file's buffers, handing
// each full buffer to the sink as Write does.
func (f *sinkFile) ReadFromN(r io.Reader, n int64) (int64, bool, error) {
	var total int64
	for total < n {
		if err := f.s.Err(); err != nil {
			return total, true, err
		}
		if f.buf == nil {
			f.buf = f.s.getBuf()
		}
		room := (*f.buf)[f.n:]
		if rest := n - total; int64(len(room)) > rest {
			room = room[:rest]
		}
		m, err := r.Read(room)
		f.n += m
		total += int64(m)
		if f.n == BufSize {
			f.s.submit(sinkJob{f: f, buf: f.buf, n: f.n, off: f.off})
			f.off += int64(f.n)
			f.buf, f.n = nil, 0
		}
		if err != nil {
			return total, false, err
		}
	}
	return total, false, nil
}

// WriteAt and Truncate are for sparse files, which do not go through the
// sink.
func (f *sinkFile) WriteAt(p []byte, off int64) (int, error) {
	return 0, &os.PathError{Op: "write", Path: f.path, Err: errors.ErrUnsupported}
}

func (f *sinkFile) Truncate(size int64) error {
	return &os.PathError{Op: "truncate", Path: f.path, Err: errors.ErrUnsupported}
}

// Close hands the rest of the data to the sink, which closes the file
// once everything is written.
func (f *sinkFile) Close() error {
	if f.buf != nil {
		f.tailN = f.n
		f.s.submit(sinkJob{f: f, buf: f.buf, n: f.n, off: f.off, final: true})
		f.buf = nil
	}
	f.release()
	return nil
}

// buffered turns O_DIRECT off: what is written next goes through the
// page cache (which takes any length and offset). Writes of other
// workers still in flight are correct either way.
func (f *sinkFile) buffered() error {
	if f.direct.CompareAndSwap(true, false) {
		return setDirect(f.fd, false)
	}
	return nil
}

// setDirect sets or clears O_DIRECT on fd.
func setDirect(fd int, on bool) error {
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return err
	}
	if on {
		fl |= unix.O_DIRECT
	} else {
		fl &^= unix.O_DIRECT
	}
	_, err = unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl)
	return err
}

// release drops one reference; the last one writes the tail and closes.
func (f *sinkFile) release() {
	if f.pending.Add(-1) != 0 {
		return
	}
	defer f.s.files.Done()
	err := func() error {
		if f.tail == nil {
			return nil
		}
		defer func() { f.s.free <- f.tail; f.tail = nil }()
		rest := (*f.tail)[f.tailLo:f.tailN]
		if len(rest) == 0 {
			return nil
		}
		if err := f.buffered(); err != nil {
			return err
		}
		return pwriteAll(f.fd, rest, f.off+int64(f.tailLo))
	}()
	if err != nil {
		f.s.fail(&os.PathError{Op: "write", Path: f.path, Err: err})
	}
	if f.tailN > f.tailLo || !f.direct.Load() {
		startWriteback(f.fd)
	}
	if err := unix.Close(f.fd); err != nil {
		f.s.fail(&os.PathError{Op: "close", Path: f.path, Err: err})
	}
}
