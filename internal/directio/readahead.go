package directio

import (
	"context"
	"crypto/sha256"
	"hash"
	"io"
)

// ReadAhead reads its source in 256 KiB blocks on its own goroutine and
// hashes them (sha256: the layer's DiffID) on another, so that reading
// (decompressing, when the source is a decoder), hashing and writing the
// layer overlap instead of adding up; a block is handed from one to the
// next, never copied. At most readAheadBlocks blocks are in memory.
//
// Read returns ctx's error as soon as ctx is done, even while the source
// stalls (a pipe or a network stream that sends nothing more): the import
// then stops within moments of a cancel, wherever it waits for data.
type ReadAhead struct {
	ctx   context.Context
	full  chan *raBlock
	free  chan *raBlock
	hashq chan *raBlock // read blocks on their way to the hasher
	stop  chan struct{}
	done  chan struct{} // the reading goroutine returned
	hdone chan struct{} // the hashing goroutine returned
	cur   *raBlock
	off   int
	h     hash.Hash
	total int64
}

type raBlock struct {
	b   []byte
	n   int
	err error
}

const (
	readAheadBlocks    = 4
	readAheadBlockSize = 256 << 10
)

// NewReadAhead starts reading src ahead; the caller must Close the
// ReadAhead.
func NewReadAhead(ctx context.Context, src io.Reader) *ReadAhead {
	r := &ReadAhead{
		ctx:   ctx,
		full:  make(chan *raBlock, readAheadBlocks),
		free:  make(chan *raBlock, readAheadBlocks),
		hashq: make(chan *raBlock, readAheadBlocks),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
		hdone: make(chan struct{}),
		h:     sha256.New(),
	}
	for i := 0; i < readAheadBlocks; i++ {
		r.free <- &raBlock{b: make([]byte, readAheadBlockSize)}
	}
	go r.produce(src)
	go r.hash()
	return r
}

// hash hashes the blocks in the order they were read and hands them on
// to Read; it returns after the block that ends the source, or at Close.
func (r *ReadAhead) hash() {
	defer close(r.hdone)
	for {
		var blk *raBlock
		select {
		case blk = <-r.hashq:
		case <-r.stop:
			return
		}
		r.h.Write(blk.b[:blk.n])
		r.total += int64(blk.n)
		// Once handed on, the block belongs to Read (and then to the
		// reading goroutine again): look at it no more.
		last := blk.err != nil
		select {
		case r.full <- blk:
		case <-r.stop:
			return
		}
		if last {
			return
		}
	}
}

func (r *ReadAhead) produce(src io.Reader) {
	defer close(r.done)
	for {
		var blk *raBlock
		select {
		case blk = <-r.free:
		case <-r.stop:
			return
		}
		if r.stopped() {
			return
		}
		n, err := r.readFull(src, blk.b)
		if r.stopped() {
			// Close returned while the source was being read: read
			// nothing more, hand nothing on.
			return
		}
		blk.n, blk.err = n, err
		select {
		case r.hashq <- blk:
		case <-r.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

func (r *ReadAhead) stopped() bool {
	select {
	case <-r.stop:
		return true
	default:
		return false
	}
}

// readFull is io.ReadFull that stops between reads once Close was
// called, so that at most one Read of the source outlives Close.
func (r *ReadAhead) readFull(src io.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		if n > 0 && r.stopped() {
			return n, nil
		}
		m, err := src.Read(b[n:])
		n += m
		if err != nil {
			// The source's own error, unchanged: a decompressor's
			// io.ErrUnexpectedEOF is a truncated download, not an end.
			return n, err
		}
	}
	return n, nil
}

// Read returns the next bytes of the source, and its error (io.EOF at
// the end), or ctx's error once ctx is done.
func (r *ReadAhead) Read(p []byte) (int, error) {
	for r.cur == nil || r.off == r.cur.n {
		if r.cur != nil {
			if r.cur.err != nil {
				return 0, r.cur.err
			}
			r.free <- r.cur
			r.cur = nil
		}
		if err := r.ctx.Err(); err != nil {
			return 0, err
		}
		select {
		case r.cur = <-r.full:
			r.off = 0
		case <-r.ctx.Done():
			return 0, r.ctx.Err()
		}
	}
	n := copy(p, r.cur.b[r.off:r.cur.n])
	r.off += n
	return n, nil
}

// Close stops the reading goroutine (the source is not closed) without
// waiting for a Read of the source in progress: a stalled source must
// not hold up the end of an import. That Read completes in the
// background, and nothing more is read.
func (r *ReadAhead) Close() {
	if !r.stopped() {
		close(r.stop)
	}
}

// Sum returns the sha256 and the length of everything read from the
// source; call it after Read returned io.EOF.
func (r *ReadAhead) Sum() ([]byte, int64) {
	<-r.hdone
	return r.h.Sum(nil), r.total
}
