package layer

import (
	"fmt"
	"syscall"

	units "github.com/docker/go-units"
)

// spaceBudget bounds what a layer's streams claim by what the store's
// file system can hold, before any of it is written: a 10 KB tar whose
// header claims 2^62 bytes fails at once, naming the entry and the size,
// instead of writing until the disk is full. The bytes claimed so far are
// counted against the free space measured when the first claim came
// (what the layer writes lowers the free space as it goes); a claim that
// does not fit measures again, in case space was freed meanwhile.
type spaceBudget struct {
	dir     string // where to measure: the staging directory
	free    int64  // free bytes when measured, -1 unknown
	claimed int64  // bytes claimed since then
	known   bool
}

// claim accounts for size more bytes of entry name. The error wraps
// syscall.ENOSPC.
func (b *spaceBudget) claim(name string, size int64) error {
	if size <= 0 {
		return nil
	}
	if !b.known {
		b.known = true
		b.free = freeBytes(b.dir)
	}
	if b.free < 0 || b.claimed+size <= b.free {
		b.claimed += size
		return nil
	}
	// Measure again: as if everything claimed so far were written.
	if now := freeBytes(b.dir); now >= 0 {
		b.free, b.claimed = now, 0
		if size <= now {
			b.claimed = size
			return nil
		}
	}
	return fmt.Errorf("%q: %d bytes (%s) do not fit: the store's file system has %s free: %w",
		name, size, units.BytesSize(float64(size)), units.BytesSize(float64(max(b.free-b.claimed, 0))), syscall.ENOSPC)
}

// growSparse extends the sparse file of the current entry to end bytes
// before a block is written there, so that a size the file system cannot
// hold (EFBIG) fails at once, naming the entry and the size.
func (w *Writer) growSparse(end int64) error {
	e := w.cur
	if end <= e.Size {
		return nil
	}
	if err := w.es.f.Truncate(end); err != nil {
		return fmt.Errorf("%q: sparse file of %d bytes (%s): %w", e.Name, end, units.BytesSize(float64(end)), err)
	}
	e.Size = end
	return nil
}
