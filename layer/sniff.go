package layer

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	tstar "github.com/vbatts/tar-split/archive/tar"

	"github.com/winlayer/winlayer/wintar"
)

// sniffSize is how much of the input [headRecorder] keeps: one tar block.
const sniffSize = 512

// headRecorder keeps the first sniffSize bytes read through it, so that
// an input that is not a tar can be described after the tar reader
// refused it.
// It is read on the read-ahead goroutine, hence the lock.
type headRecorder struct {
	r    io.Reader
	mu   sync.Mutex
	head []byte
	n    atomic.Int64 // bytes read in all
}

func (h *headRecorder) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.n.Add(int64(n))
	h.mu.Lock()
	if room := sniffSize - len(h.head); room > 0 {
		h.head = append(h.head, p[:min(n, room)]...)
	}
	h.mu.Unlock()
	return n, err
}

// bytes returns a copy of what was kept.
func (h *headRecorder) bytes() []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]byte(nil), h.head...)
}

// notTar turns an error reading the first tar header into one that says
// the input is not a tar and what it looks like.
func notTar(err error, head []byte) error {
	var ee *wintar.EntryError
	if !errors.As(err, &ee) || ee.Op != wintar.OpRead || ee.Index != 0 || ee.Name != "" {
		return err
	}
	switch {
	case errors.Is(err, tar.ErrHeader), errors.Is(err, tstar.ErrHeader):
	case errors.Is(err, io.ErrUnexpectedEOF) && len(head) > 0 && !looksLikeTar(head):
		// Less than a header of something else (a tar cut inside its
		// first header is truncated, not foreign).
	default:
		return err // the source's own error, a cancel
	}
	return fmt.Errorf("%w: the input %s", ErrNotTar, describeInput(head))
}

// looksLikeTar reports whether b starts like a tar header: a name, then
// the ustar magic or at least octal digits where the mode is.
func looksLikeTar(b []byte) bool {
	if len(b) >= 265 && (bytes.HasPrefix(b[257:], []byte("ustar"))) {
		return true
	}
	if len(b) < 108 {
		return false
	}
	for _, c := range bytes.TrimRight(b[100:107], " \x00") {
		if c < '0' || c > '7' {
			return false
		}
	}
	return b[0] != 0
}

// magics are the compressed and archive formats a user may feed by
// mistake, with what to do about each.
var magics = []struct {
	magic []byte
	what  string
}{
	{[]byte{0x1f, 0x8b}, "is gzip-compressed: decompress it first (winlayer import does)"},
	{[]byte{0x28, 0xb5, 0x2f, 0xfd}, "is zstd-compressed: decompress it first (winlayer import does)"},
	{[]byte("BZh"), "is bzip2-compressed: decompress it first (bunzip2)"},
	{[]byte{0xfd, '7', 'z', 'X', 'Z', 0}, "is xz-compressed: decompress it first (unxz)"},
	{[]byte("PK\x03\x04"), "is a zip archive, not a tar"},
	{[]byte("7z\xbc\xaf\x27\x1c"), "is a 7-zip archive, not a tar"},
}

// describeInput says what head, the first bytes of an input that is not a
// tar, looks like.
func describeInput(head []byte) string {
	if len(head) == 0 {
		return "is empty"
	}
	for _, m := range magics {
		if bytes.HasPrefix(head, m.magic) {
			return m.what
		}
	}
	if looksLikeTar(head) {
		return "starts like a tar header but the header is damaged (bad checksum or fields)"
	}
	if isText(head) {
		first, _, _ := bytes.Cut(head, []byte("\n"))
		if len(first) > 40 {
			first = append(first[:40:40], "..."...)
		}
		return fmt.Sprintf("is text (%q), not a tar", first)
	}
	return "is neither a tar nor a compressed tar (unrecognized data)"
}

// isText reports whether b is UTF-8 text without control characters
// other than newlines and tabs; a rune cut at the end of b (the head ends
// where the reader stopped) is left out, but something that is only such
// a cut rune is no text.
func isText(b []byte) bool {
	// The start of the last rune is among the last UTFMax bytes.
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				b = b[:i]
			}
			break
		}
	}
	if len(b) == 0 || !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if r < ' ' && r != '\n' && r != '\r' && r != '\t' {
			return false
		}
	}
	return true
}
