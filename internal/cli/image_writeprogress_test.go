package cli

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/vbauerster/mpb/v8"

	"github.com/winlayer/winlayer/image"
)

// lockedBuffer is a bytes.Buffer safe for mpb's goroutine and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func hashOf(c byte) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: strings.Repeat(string(c), 64)}
}

// writeEvents: blob a sent in two steps, b already there, c left out as
// foreign, d started and never finished (a failed push), and a note.
var writeEvents = [][]image.WriteEvent{
	{
		{Kind: image.WriteStart, Digest: hashOf('a'), Size: 2 << 20},
		{Kind: image.WriteProgress, Digest: hashOf('a'), Size: 2 << 20, Done: 1 << 20},
		{Kind: image.WriteDone, Digest: hashOf('a'), Size: 2 << 20, Done: 2 << 20, Action: image.ActionCopied},
	},
	{{Kind: image.WriteDone, Digest: hashOf('b'), Size: 100, Action: image.ActionPresent}},
	{{Kind: image.WriteDone, Digest: hashOf('c'), Size: 100, Action: image.ActionForeign}},
	{{Kind: image.WriteStart, Digest: hashOf('d'), Size: 1 << 20}},
	{{Kind: image.WriteNote, Message: "the manifest digest changes"}},
}

func TestWriteDisplayPlain(t *testing.T) {
	var buf bytes.Buffer
	d := &writeDisplay{w: &buf, bars: map[string]*mpb.Bar{}}
	for _, es := range writeEvents {
		for _, e := range es {
			d.event(e)
		}
	}
	d.finish()
	want := []string{
		"aaaaaaaaaaaa: sending 2.097MB",
		"aaaaaaaaaaaa: copied",
		"bbbbbbbbbbbb: already there (skipped or mounted)",
		"cccccccccccc: foreign layer, not copied (descriptor kept)",
		"dddddddddddd: sending 1.049MB",
		"note: the manifest digest changes",
	}
	if got := strings.TrimSpace(buf.String()); got != strings.Join(want, "\n") {
		t.Errorf("plain progress:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	// -q keeps only the notes, which say when digests change.
	buf.Reset()
	q := &writeDisplay{w: &buf, quiet: true, bars: map[string]*mpb.Bar{}}
	for _, es := range writeEvents {
		for _, e := range es {
			q.event(e)
		}
	}
	q.finish()
	if got := strings.TrimSpace(buf.String()); got != "note: the manifest digest changes" {
		t.Errorf("-q printed %q", got)
	}
}

// TestWriteDisplayBars: on a terminal (mpb, driven into a buffer here) the
// blobs' events come from several goroutines, and finish returns even with
// a bar that never completed.
func TestWriteDisplayBars(t *testing.T) {
	var buf lockedBuffer
	d := &writeDisplay{w: &buf, bars: map[string]*mpb.Bar{}}
	d.p = mpb.New(mpb.WithOutput(&buf), mpb.WithWidth(40), mpb.WithAutoRefresh())
	var wg sync.WaitGroup
	for _, es := range writeEvents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, e := range es {
				d.event(e)
			}
		}()
	}
	wg.Wait()
	done := make(chan struct{})
	go func() { d.finish(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("finish hangs")
	}
	out := buf.String()
	for _, s := range []string{"aaaaaaaaaaaa", "done", "bbbbbbbbbbbb: already there", "cccccccccccc: foreign layer", "note: the manifest digest changes"} {
		if !strings.Contains(out, s) {
			t.Errorf("bars lack %q:\n%s", s, out)
		}
	}
}
