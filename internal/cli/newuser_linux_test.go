package cli

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vbauerster/mpb/v8"
	"golang.org/x/sys/unix"

	"github.com/winlayer/winlayer/image"
)

// TestNewUserUnsizedTerminal: on a pseudo-terminal that reports 0 columns
// (a CI runner's, `script` without a terminal) a pull printed no progress
// at all: mpb draws nothing at width 0. Such a terminal gets the plain
// lines; a sized one the bars.
func TestNewUserUnsizedTerminal(t *testing.T) {
	pty, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer pty.Close()
	for _, c := range []struct {
		cols uint16
		bars bool
	}{{0, false}, {100, true}} {
		if err := unix.IoctlSetWinsize(int(pty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Col: c.cols, Row: 30}); err != nil {
			t.Fatal(err)
		}
		if !isTerminal(pty) || barTerminal(pty) != c.bars {
			t.Errorf("%d columns: isTerminal %v, barTerminal %v, want bars %v", c.cols, isTerminal(pty), barTerminal(pty), c.bars)
		}
		pp := newPullProgress(context.Background(), pty, false)
		if (pp.p != nil) != c.bars {
			t.Errorf("%d columns: pull progress bars %v, want %v", c.cols, pp.p != nil, c.bars)
		}
		pp.wait()
		if d := newWriteDisplay(&options{stderr: pty}, false); (d.p != nil) != c.bars {
			t.Errorf("%d columns: write progress bars %v, want %v", c.cols, d.p != nil, c.bars)
		}
	}
}

// TestNewUserBarSpeed: the pull bars' speed read "0.0 b/s" from start to
// end (an EWMA decorator fed by SetCurrent, which gives it no samples); it
// shows the bytes per second.
func TestNewUserBarSpeed(t *testing.T) {
	var buf safeBuffer
	pp := &pullProgress{w: &buf, tty: true, bars: map[string]*mpb.Bar{}}
	// Not a terminal: the width is that of the whole line.
	pp.p = mpb.New(mpb.WithOutput(&buf), mpb.WithWidth(120), mpb.WithAutoRefresh())
	e := image.Event{Layer: 0, Count: 1, Digest: "sha256:dddddddddddddddddddd", ID: "c0", Size: 4 << 20}
	for i, k := range []image.EventKind{image.EventStart, image.EventBytes, image.EventBytes, image.EventDone} {
		e.Kind, e.N = k, int64(i)<<20
		if k == image.EventDone {
			e.N = 4 << 20
		}
		pp.event(e)
		time.Sleep(100 * time.Millisecond)
	}
	pp.wait()
	out := buf.String()
	if !regexp.MustCompile(`[1-9][0-9]*\.[0-9] (KiB|MiB)/s`).MatchString(out) || strings.Contains(out[strings.LastIndex(out, "layer 1/1"):], " 0.0 b/s") {
		t.Errorf("bars show no speed:\n%s", out)
	}
}
