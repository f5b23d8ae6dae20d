package image

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
)

// errPipeClosed is returned by a hashPipe read after Close.
var errPipeClosed = errors.New("layer stream closed")

// Chunks of a hashPipe: how many are in flight and how large each is.
const (
	pipeChunks    = 4
	pipeChunkSize = 128 << 10
)

// hashPipe reads a stream on a goroutine of its own and hands it on in
// chunks; for a blob (newHashPipe) it also hashes it (sha256) and copies it
// to a writer (the kept blob), so that hashing and writing the compressed
// bytes run beside the decompression.
// Its Read is safe to call from one goroutine at a time; Close stops the
// goroutine (closing the source to unblock it) and waits for it.
type hashPipe struct {
	src  io.ReadCloser
	ch   chan []byte
	free chan []byte
	done chan struct{}
	exit chan struct{}
	once sync.Once
	cur  []byte
	buf  []byte // the chunk cur is in

	// Owned by the goroutine until exit is closed.
	h    hash.Hash
	n    int64
	err  error // io.EOF at the end, else why reading or writing stopped
	w    io.Writer
	prog func(int64)
	max  int64 // > 0: the blob's size; more is an error
}

func newHashPipe(src io.ReadCloser, w io.Writer, max int64, progress func(int64)) *hashPipe {
	p := newPipe(src)
	p.h, p.w, p.prog, p.max = sha256.New(), w, progress, max
	p.start()
	return p
}

func newPipe(src io.ReadCloser) *hashPipe {
	p := &hashPipe{src: src, ch: make(chan []byte, pipeChunks), free: make(chan []byte, pipeChunks),
		done: make(chan struct{}), exit: make(chan struct{})}
	for range pipeChunks {
		p.free <- make([]byte, pipeChunkSize)
	}
	return p
}

func (p *hashPipe) start() { go p.produce() }

func (p *hashPipe) produce() {
	defer close(p.exit)
	defer close(p.ch)
	var last int64
	for {
		var b []byte
		select {
		case b = <-p.free:
		case <-p.done:
			p.err = errPipeClosed
			return
		}
		// Fill most of the chunk: network reads come in small pieces.
		b = b[:cap(b)]
		n := 0
		var err error
		for n < len(b)/2 && err == nil {
			var m int
			m, err = p.src.Read(b[n:])
			n += m
		}
		if p.max > 0 && p.n+int64(n) > p.max {
			n = int(p.max - p.n)
			err = fmt.Errorf("%w: the blob is more than the %d bytes the manifest says", ErrDigestMismatch, p.max)
		}
		if n > 0 {
			if p.h != nil {
				p.h.Write(b[:n])
			}
			if p.w != nil {
				if _, werr := p.w.Write(b[:n]); werr != nil {
					p.err = fmt.Errorf("keep blob: %w", werr)
					return
				}
			}
			p.n += int64(n)
			if p.prog != nil && (p.n-last >= 64<<10 || err != nil) {
				last = p.n
				p.prog(p.n)
			}
			select {
			case p.ch <- b[:n]:
			case <-p.done:
				p.err = errPipeClosed
				return
			}
		}
		if err != nil {
			p.err = err
			return
		}
	}
}

// Read implements io.Reader.
func (p *hashPipe) Read(b []byte) (int, error) {
	if len(p.cur) == 0 {
		if p.buf != nil {
			p.free <- p.buf[:cap(p.buf)]
			p.buf = nil
		}
		select {
		case c, ok := <-p.ch:
			if !ok {
				<-p.exit
				return 0, p.err
			}
			p.cur, p.buf = c, c
		case <-p.done:
			return 0, errPipeClosed
		}
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	return n, nil
}

// finish reads what is left to the end and returns the digest and size of
// the whole blob, or why it could not be read.
func (p *hashPipe) finish() ([]byte, int64, error) {
	if _, err := io.Copy(io.Discard, p); err != nil {
		return nil, 0, err
	}
	<-p.exit
	return p.h.Sum(nil), p.n, nil
}

// Close stops the goroutine and closes the source.
func (p *hashPipe) Close() error {
	var err error
	p.once.Do(func() {
		close(p.done)
		err = p.src.Close()
		<-p.exit
	})
	return err
}

// count is how many bytes were read so far (after Close, all of them).
func (p *hashPipe) count() int64 {
	select {
	case <-p.exit:
		return p.n
	default:
		return 0
	}
}
