package cli

import (
	"context"
	"fmt"
	"io"
	"sync"

	units "github.com/docker/go-units"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/winlayer/winlayer/image"
)

// pullProgress shows the progress of a pull or load on w: one bar per
// layer (mpb) on a terminal, else one plain line per layer start, skip,
// finish and failure. quiet shows nothing.
type pullProgress struct {
	mu    sync.Mutex
	w     io.Writer
	quiet bool
	tty   bool
	p     *mpb.Progress
	bars  map[string]*mpb.Bar
}

func newPullProgress(ctx context.Context, w io.Writer, quiet bool) *pullProgress {
	pp := &pullProgress{w: w, quiet: quiet, tty: barTerminal(w), bars: map[string]*mpb.Bar{}}
	if pp.tty && !quiet {
		pp.p = mpb.NewWithContext(ctx, mpb.WithOutput(w), mpb.WithWidth(40))
	}
	return pp
}

// short is a digest's first 12 hex digits.
func short(d string) string {
	if len(d) > 7+12 && d[:7] == "sha256:" {
		return d[7 : 7+12]
	}
	if len(d) > 12 {
		return d[:12]
	}
	return d
}

// event is an image.PullOptions.Progress function.
func (pp *pullProgress) event(e image.Event) {
	if pp.quiet {
		return
	}
	pp.mu.Lock()
	defer pp.mu.Unlock()
	key := fmt.Sprintf("%s#%d", e.Image, e.Layer)
	label := fmt.Sprintf("layer %d/%d %s", e.Layer+1, e.Count, short(e.Digest))
	if e.Digest == "" {
		label = fmt.Sprintf("layer %d/%d %s", e.Layer+1, e.Count, short(e.ID))
	}
	if pp.p == nil {
		switch e.Kind {
		case image.EventSkip:
			fmt.Fprintf(pp.w, "%s: already in the store\n", label)
		case image.EventStart:
			if e.Size > 0 {
				fmt.Fprintf(pp.w, "%s: fetching %s\n", label, units.HumanSize(float64(e.Size)))
			} else {
				fmt.Fprintf(pp.w, "%s: fetching\n", label)
			}
		case image.EventDone:
			fmt.Fprintf(pp.w, "%s: done (%s)\n", label, units.HumanSize(float64(e.N)))
		case image.EventFail:
			fmt.Fprintf(pp.w, "%s: failed\n", label)
		}
		return
	}
	b := pp.bars[key]
	switch e.Kind {
	case image.EventSkip:
		b = pp.p.AddBar(1, mpb.PrependDecorators(decor.Name(label, decor.WCSyncSpaceR)),
			mpb.AppendDecorators(decor.Name("already in the store")))
		b.SetCurrent(1)
		pp.bars[key] = b
	case image.EventStart:
		if b == nil {
			b = pp.p.AddBar(max(e.Size, 0), mpb.PrependDecorators(decor.Name(label, decor.WCSyncSpaceR)),
				mpb.AppendDecorators(decor.CountersKibiByte("% .1f / % .1f"), decor.Name(" "), decor.AverageSpeed(decor.SizeB1024(0), "% .1f")))
			pp.bars[key] = b
		}
	case image.EventBytes:
		if b != nil {
			b.SetCurrent(e.N)
		}
	case image.EventDone:
		if b != nil {
			b.SetCurrent(e.N)
			b.SetTotal(-1, true)
		}
	case image.EventFail:
		if b != nil {
			b.Abort(false)
		}
	}
}

// wait ends the bars (aborting those not finished) and waits for the
// last redraw.
func (pp *pullProgress) wait() {
	if pp.p == nil {
		return
	}
	pp.mu.Lock()
	for _, b := range pp.bars {
		if !b.Completed() {
			b.Abort(false)
		}
	}
	pp.mu.Unlock()
	pp.p.Wait()
}
