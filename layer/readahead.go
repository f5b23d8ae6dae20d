package layer

import (
	"crypto/sha256"
	"errors"
	"hash"
	"io"
)

// readAhead reads its source in 1 MiB blocks on its own goroutine and
// hashes them there (sha256: the layer's DiffID), so that reading and
// hashing the tar overlap with writing the layer instead of adding to it.
// At most readAheadBlocks blocks are in memory.
type readAhead struct {
	full  chan *raBlock
	free  chan *raBlock
	stop  chan struct{}
	done  chan struct{}
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
	readAheadBlockSize = 1 << 20
)

func newReadAhead(src io.Reader) *readAhead {
	r := &readAhead{
		full: make(chan *raBlock, readAheadBlocks),
		free: make(chan *raBlock, readAheadBlocks),
		stop: make(chan struct{}),
		done: make(chan struct{}),
		h:    sha256.New(),
	}
	for i := 0; i < readAheadBlocks; i++ {
		r.free <- &raBlock{b: make([]byte, readAheadBlockSize)}
	}
	go r.produce(src)
	return r
}

func (r *readAhead) produce(src io.Reader) {
	defer close(r.done)
	for {
		var blk *raBlock
		select {
		case blk = <-r.free:
		case <-r.stop:
			return
		}
		n, err := io.ReadFull(src, blk.b)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = io.EOF
		}
		r.h.Write(blk.b[:n])
		r.total += int64(n)
		blk.n, blk.err = n, err
		select {
		case r.full <- blk:
		case <-r.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

// Read returns the next bytes of the source, and its error (io.EOF at the end).
func (r *readAhead) Read(p []byte) (int, error) {
	for r.cur == nil || r.off == r.cur.n {
		if r.cur != nil {
			if r.cur.err != nil {
				return 0, r.cur.err
			}
			r.free <- r.cur
		}
		r.cur, r.off = <-r.full, 0
	}
	n := copy(p, r.cur.b[r.off:r.cur.n])
	r.off += n
	return n, nil
}

// Close stops the reading goroutine (the source is not closed).
func (r *readAhead) Close() {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	<-r.done
}

// Sum returns the sha256 and the length of everything read from the
// source; call it after Read returned io.EOF.
func (r *readAhead) Sum() ([]byte, int64) {
	<-r.done
	return r.h.Sum(nil), r.total
}
