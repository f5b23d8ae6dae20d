// Package ctxio makes a reader or writer stop once a context is done, for copies
// that would otherwise run to the end of their source after a cancel.
package ctxio

import (
	"context"
	"io"
)

// Reader returns a reader of r that checks ctx before each Read: once ctx
// is done, Read returns ctx's error and r is not read again. A Read
// already blocked in r is not interrupted; a source that can stall wants
// one that is (internal/cli's cancelReader), or a deadline of its own.
func Reader(ctx context.Context, r io.Reader) io.Reader {
	return &reader{ctx: ctx, r: r}
}

type reader struct {
	ctx context.Context
	r   io.Reader
}

// Read implements io.Reader.
func (c *reader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Writer returns a writer to w that checks ctx before each Write: once
// ctx is done, Write returns ctx's error and writes nothing more to w. A
// Write already blocked in w is not interrupted.
func Writer(ctx context.Context, w io.Writer) io.Writer {
	return &writer{ctx: ctx, w: w}
}

type writer struct {
	ctx context.Context
	w   io.Writer
}

// Write implements io.Writer.
func (c *writer) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
