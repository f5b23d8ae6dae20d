package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/vbauerster/mpb/v8"

	"github.com/winlayer/winlayer/image"
)

// events is a pull of three layers: one present, one done, one failed.
var progressEvents = []image.Event{
	{Kind: image.EventSkip, Layer: 0, Count: 3, Digest: "sha256:aaaaaaaaaaaaaaaaaaaa", ID: "c0"},
	{Kind: image.EventStart, Layer: 1, Count: 3, Digest: "sha256:bbbbbbbbbbbbbbbbbbbb", ID: "c1", Size: 2 << 20},
	{Kind: image.EventStart, Layer: 2, Count: 3, Digest: "sha256:cccccccccccccccccccc", ID: "c2", Size: 1 << 20},
	{Kind: image.EventBytes, Layer: 1, Count: 3, Digest: "sha256:bbbbbbbbbbbbbbbbbbbb", ID: "c1", Size: 2 << 20, N: 1 << 20},
	{Kind: image.EventDone, Layer: 1, Count: 3, Digest: "sha256:bbbbbbbbbbbbbbbbbbbb", ID: "c1", Size: 2 << 20, N: 2 << 20},
	{Kind: image.EventFail, Layer: 2, Count: 3, Digest: "sha256:cccccccccccccccccccc", ID: "c2", Err: errors.New("cut")},
}

// TestPullProgressPlain: without a terminal, one line per layer event.
func TestPullProgressPlain(t *testing.T) {
	var buf bytes.Buffer
	pp := newPullProgress(context.Background(), &buf, false)
	for _, e := range progressEvents {
		pp.event(e)
	}
	pp.wait()
	want := []string{
		"layer 1/3 aaaaaaaaaaaa: already in the store",
		"layer 2/3 bbbbbbbbbbbb: fetching 2.097MB",
		"layer 3/3 cccccccccccc: fetching 1.049MB",
		"layer 2/3 bbbbbbbbbbbb: done (2.097MB)",
		"layer 3/3 cccccccccccc: failed",
	}
	if got := strings.Split(strings.TrimSpace(buf.String()), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("progress lines:\n%s\nwant:\n%s", buf.String(), strings.Join(want, "\n"))
	}
	buf.Reset()
	q := newPullProgress(context.Background(), &buf, true)
	for _, e := range progressEvents {
		q.event(e)
	}
	q.wait()
	if buf.Len() != 0 {
		t.Errorf("-q printed %q", buf.String())
	}
}

// TestPullProgressBars: on a terminal, bars (driven here into a buffer),
// fed from several goroutines, end without hanging.
func TestPullProgressBars(t *testing.T) {
	var buf safeBuffer
	pp := &pullProgress{w: &buf, tty: true, bars: map[string]*mpb.Bar{}}
	pp.p = mpb.New(mpb.WithOutput(&buf), mpb.WithWidth(40), mpb.WithAutoRefresh())
	// Each layer's events in order (one goroutine per layer, as a pull
	// sends them), the layers at once.
	var wg sync.WaitGroup
	for layer := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, e := range progressEvents {
				if e.Layer == layer {
					pp.event(e)
				}
			}
		}()
	}
	wg.Wait()
	pp.wait()
	out := buf.String()
	for _, s := range []string{"layer 1/3", "already in", "layer 2/3", "2.0 MiB / 2.0 MiB"} {
		if !strings.Contains(out, s) {
			t.Errorf("bars lack %q:\n%s", s, out)
		}
	}
}

type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
