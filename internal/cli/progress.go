package cli

import (
	"fmt"
	"io"
	"os"
	"time"

	units "github.com/docker/go-units"
)

// progressInterval is how often the progress line is redrawn.
var progressInterval = 500 * time.Millisecond

// inputSize returns how many bytes r has left to read when r is a regular
// file (a file named with -f, or standard input redirected from a file),
// else -1 (a pipe, a terminal, a socket: the size is not known).
func inputSize(r io.Reader) int64 {
	f, ok := r.(*os.File)
	if !ok {
		return -1
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return -1
	}
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil || off > fi.Size() {
		return -1
	}
	return fi.Size() - off
}

// progressLine is one progress report: with a known total, the bytes read
// of the total and the percentage; else the bytes read; then the rate.
func progressLine(what string, n, total int64, elapsed time.Duration) string {
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(n) / s
	}
	if total >= 0 {
		pct := 100.0
		if total > 0 {
			pct = 100 * float64(n) / float64(total)
		}
		return fmt.Sprintf("%s: %s of %s (%.0f%%), %s/s", what, units.HumanSize(float64(n)),
			units.HumanSize(float64(total)), pct, units.HumanSize(rate))
	}
	return fmt.Sprintf("%s: %s read, %s/s", what, units.HumanSize(float64(n)), units.HumanSize(rate))
}

// runProgress redraws the progress line of c on w every progressInterval
// until the returned function is called, which clears the line. total is
// the input's size, or -1 when it is not known.
func runProgress(w io.Writer, c *countReader, total int64, what string) func() {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(progressInterval)
		defer t.Stop()
		start := time.Now()
		for {
			select {
			case <-done:
				fmt.Fprint(w, "\r\033[K")
				return
			case <-t.C:
				fmt.Fprintf(w, "\r\033[K%s", progressLine(what, c.n.Load(), total, time.Since(start)))
			}
		}
	}()
	return func() { close(done); <-finished }
}
