//go:build !linux

package nocache

// setup leaves the Writer a pass-through: chunked writeback is Linux only.
func (w *Writer) setup() {}

func (w *Writer) advance() error { return nil }

func (w *Writer) startWriteback(off, n int64) bool { return false }
