package cli

import (
	"context"
	"io"
)

// cancelReader reads r on a goroutine of its own, so that a Read blocked
// on a source that sends nothing (a pipe, a FIFO, a terminal) returns
// ctx's error as soon as ctx is done: Ctrl-C stops an import even before
// its first byte arrives (detecting gzip waits for two bytes). After
// that, the Read in progress completes in the background and its bytes
// are dropped; nothing more is read.
type cancelReader struct {
	ctx  context.Context
	r    io.Reader
	req  chan []byte
	res  chan readResult
	err  error // the source's error, once it returned one
	dead bool  // the reading goroutine was told to stop
}

type readResult struct {
	n   int
	err error
}

func newCancelReader(ctx context.Context, r io.Reader) io.Reader {
	if ctx.Done() == nil {
		return r
	}
	return &cancelReader{ctx: ctx, r: r}
}

func (c *cancelReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if err := c.ctx.Err(); err != nil {
		c.stop()
		return 0, err
	}
	if c.req == nil {
		c.req, c.res = make(chan []byte), make(chan readResult, 1)
		go func() {
			for b := range c.req {
				n, err := c.r.Read(b)
				c.res <- readResult{n, err}
				if err != nil {
					return
				}
			}
		}()
	}
	c.req <- p
	select {
	case r := <-c.res:
		c.err = r.err
		return r.n, r.err
	case <-c.ctx.Done():
		c.stop()
		return 0, c.ctx.Err()
	}
}

// stop ends the reading goroutine once its Read in progress returns.
func (c *cancelReader) stop() {
	if c.req != nil && !c.dead {
		c.dead = true
		close(c.req)
	}
}
