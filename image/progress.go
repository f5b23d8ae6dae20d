package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// WriteEventKind says what an WriteEvent reports.
type WriteEventKind int

// The kinds of WriteEvent.
const (
	// WriteStart: a blob starts moving; Size is its size.
	WriteStart WriteEventKind = iota + 1
	// WriteProgress: Done bytes of the blob have moved.
	WriteProgress
	// WriteDone: the blob is at the destination; Action says how.
	WriteDone
	// WriteNote: Message is something the user should know (digests that
	// change, layers left out).
	WriteNote
)

// Blob actions reported in WriteDone and BlobResult.
const (
	// ActionCopied: the blob's bytes were sent (uploaded or written).
	ActionCopied = "copied"
	// ActionPresent: the destination had the blob already (or mounted it
	// from another repository of the same registry); nothing was sent.
	ActionPresent = "present"
	// ActionForeign: a foreign / non-distributable layer left out, its
	// descriptor kept.
	ActionForeign = "foreign"
)

// WriteEvent is one step of a Write or Copy, for progress displays.
type WriteEvent struct {
	Kind WriteEventKind
	// Digest is the blob's digest (WriteStart, WriteProgress, WriteDone).
	Digest v1.Hash
	// Size is the blob's size in bytes.
	Size int64
	// Done is how many bytes have moved so far.
	Done int64
	// Action is how the blob got there (WriteDone): ActionCopied,
	// ActionPresent or ActionForeign.
	Action string
	// Message is the note (WriteNote).
	Message string
}

// BlobResult is what happened to one layer blob.
type BlobResult struct {
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
	MediaType string `json:"media_type"`
	Action    string `json:"action"`
}

// tracker follows the layer blobs of one write: which were read (sent),
// how far, and reports Events.
type tracker struct {
	ctx    context.Context
	report func(WriteEvent)

	mu    sync.Mutex
	blobs map[v1.Hash]*BlobResult
	notes []string
	// sending are the blobs being sent and not yet confirmed: read to
	// their end, or, with confirmByTransport, acknowledged by the registry.
	sending map[v1.Hash]bool
	// confirmByTransport: only the registry's answer to the upload's
	// final PUT (confirm) ends a blob's sending.
	confirmByTransport bool
	// verify: every blob read is hashed and checked against its digest and
	// size at its end (for a destination that checks nothing itself: a
	// docker-archive).
	verify bool
}

func newTracker(ctx context.Context, report func(WriteEvent)) *tracker {
	return &tracker{ctx: ctx, report: report, blobs: map[v1.Hash]*BlobResult{}, sending: map[v1.Hash]bool{}}
}

func (t *tracker) emit(e WriteEvent) {
	if t.report != nil {
		t.report(e)
	}
}

// note records and reports a message for the user.
func (t *tracker) note(msg string) {
	t.mu.Lock()
	for _, n := range t.notes {
		if n == msg {
			t.mu.Unlock()
			return
		}
	}
	t.notes = append(t.notes, msg)
	t.mu.Unlock()
	t.emit(WriteEvent{Kind: WriteNote, Message: msg})
}

// add registers a layer blob of the artifact being written; the default
// action is ActionPresent (never read) unless it says otherwise.
func (t *tracker) add(d v1.Hash, size int64, mt string, action string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if b, ok := t.blobs[d]; ok {
		if action == ActionCopied {
			b.Action = action
		}
		return
	}
	t.blobs[d] = &BlobResult{Digest: d.String(), Size: size, MediaType: mt, Action: action}
}

// set changes a blob's action.
func (t *tracker) set(d v1.Hash, action string) {
	t.mu.Lock()
	if b, ok := t.blobs[d]; ok {
		b.Action = action
	}
	if action == ActionCopied && !t.confirmByTransport {
		delete(t.sending, d)
	}
	t.mu.Unlock()
}

// confirm records that the destination acknowledged blob d.
func (t *tracker) confirm(d v1.Hash) {
	t.mu.Lock()
	delete(t.sending, d)
	t.mu.Unlock()
}

// confirmTransport tells the tracker which blob uploads the registry
// acknowledged (a 2xx answer to PUT …/blobs/uploads/…?digest=D), so that a
// failed push can name the layers it was sending.
type confirmTransport struct {
	inner http.RoundTripper
	t     *tracker
}

func (c confirmTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.inner.RoundTrip(req)
	if err == nil && req.Method == http.MethodPut && resp.StatusCode/100 == 2 && strings.Contains(req.URL.Path, "/blobs/uploads/") {
		if d, herr := v1.NewHash(req.URL.Query().Get("digest")); herr == nil {
			c.t.confirm(d)
		}
	}
	return resp, err
}

// unfinished names the layers whose sending started and did not finish,
// for error messages ("" when none).
func (t *tracker) unfinished() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var ds []string
	for d := range t.sending {
		ds = append(ds, d.String())
	}
	if len(ds) == 0 {
		return ""
	}
	sort.Strings(ds)
	what := "layer "
	if len(ds) > 1 {
		what = "layers "
	}
	return what + strings.Join(ds, ", ")
}

// reader counts the bytes of blob d read through rc, stops at a cancelled
// context, and marks the blob copied once read to its end.
func (t *tracker) reader(d v1.Hash, size int64, rc io.ReadCloser) io.ReadCloser {
	t.mu.Lock()
	t.sending[d] = true
	t.mu.Unlock()
	t.emit(WriteEvent{Kind: WriteStart, Digest: d, Size: size})
	r := &trackReader{t: t, d: d, size: size, rc: rc}
	if t.verify && d.Algorithm == "sha256" {
		r.h = sha256.New()
	}
	return r
}

// results lists the blobs and what happened to each, by digest.
func (t *tracker) results() []BlobResult {
	t.mu.Lock()
	out := make([]BlobResult, 0, len(t.blobs))
	for _, b := range t.blobs {
		out = append(out, *b)
	}
	t.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Digest < out[j].Digest })
	return out
}

// finish reports WriteDone for the blobs that were never read.
func (t *tracker) finish() {
	for _, b := range t.results() {
		if b.Action != ActionCopied {
			h, _ := v1.NewHash(b.Digest)
			t.emit(WriteEvent{Kind: WriteDone, Digest: h, Size: b.Size, Action: b.Action})
		}
	}
}

type trackReader struct {
	t    *tracker
	d    v1.Hash
	size int64
	rc   io.ReadCloser
	done int64
	eof  bool
	h    hash.Hash // with tracker.verify
}

// progressStep is how many bytes pass between WriteProgress reports.
const progressStep = 256 << 10

func (r *trackReader) Read(p []byte) (int, error) {
	if err := r.t.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := r.rc.Read(p)
	before := r.done
	r.done += int64(n)
	if r.h != nil {
		r.h.Write(p[:n])
	}
	if r.done/progressStep != before/progressStep {
		r.t.emit(WriteEvent{Kind: WriteProgress, Digest: r.d, Size: r.size, Done: r.done})
	}
	if err == io.EOF && r.h != nil {
		if got := hex.EncodeToString(r.h.Sum(nil)); got != r.d.Hex || (r.size >= 0 && r.done != r.size) {
			return n, fmt.Errorf("blob %s: %w: the source gave %d bytes hashing to sha256:%s, its descriptor says %d bytes", r.d, ErrDigestMismatch, r.done, got, r.size)
		}
	}
	if err == io.EOF && !r.eof {
		r.eof = true
		r.t.set(r.d, ActionCopied)
		r.t.emit(WriteEvent{Kind: WriteDone, Digest: r.d, Size: r.size, Done: r.done, Action: ActionCopied})
	}
	return n, err
}

func (r *trackReader) Close() error { return r.rc.Close() }
