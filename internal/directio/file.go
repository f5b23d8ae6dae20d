package directio

import "io"

// File is where a file's data goes: a file of the Sink, or one written
// with plain system calls.
type File interface {
	io.Writer
	io.WriterAt
	Truncate(size int64) error
	Close() error
}

// ReaderFromN is a File that reads its data straight into the buffers it
// writes from (the Sink's files on Linux), saving the copy Write makes.
type ReaderFromN interface {
	// ReadFromN reads at most n bytes from r, stopping at r's first
	// error, which it returns (io.EOF included). failed reports whether
	// the error is the file's own (a write), not r's.
	ReadFromN(r io.Reader, n int64) (read int64, failed bool, err error)
}
