package backupstream

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// collector is a Handler that records what a Decoder hands it, and can
// fail at a chosen call.
type collector struct {
	parts    []part
	complete []bool   // per part: End was called
	events   []string // "H", "P<n>", "E"
	failAt   int      // fail the failAt-th call (1-based); 0: never
	calls    int
	failErr  error
	inRecord bool
}

var errHandler = errors.New("handler failed")

func (c *collector) call(ev string) error {
	c.calls++
	c.events = append(c.events, ev)
	if c.calls == c.failAt {
		c.failErr = fmt.Errorf("%s: %w", ev, errHandler)
		return c.failErr
	}
	return nil
}

func (c *collector) Header(h *Header) error {
	if c.inRecord {
		return fmt.Errorf("Header inside a record")
	}
	c.inRecord = true
	c.parts = append(c.parts, part{Header: *h, Data: []byte{}})
	c.complete = append(c.complete, false)
	return c.call("H")
}

func (c *collector) Payload(p []byte) error {
	if !c.inRecord || len(p) == 0 {
		return fmt.Errorf("Payload of %d bytes outside a record or empty", len(p))
	}
	last := &c.parts[len(c.parts)-1]
	last.Data = append(last.Data, p...)
	return c.call(fmt.Sprint("P", len(p)))
}

func (c *collector) End() error {
	if !c.inRecord {
		return fmt.Errorf("End outside a record")
	}
	c.inRecord = false
	c.complete[len(c.complete)-1] = true
	return c.call("E")
}

// chunker splits data into the sizes of successive Write calls.
type chunker func(rest int) int

func fixedChunks(n int) chunker { return func(rest int) int { return min(n, rest) } }

func randomChunks(seed uint64) chunker {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return func(rest int) int {
		switch rng.IntN(4) {
		case 0:
			return min(1, rest)
		case 1:
			return min(1+rng.IntN(24), rest)
		default:
			return min(1+rng.IntN(600), rest)
		}
	}
}

// pushParse writes data to a Decoder in the chunks next gives, then
// Closes it. With deliver set, payload bytes are sometimes taken outside
// Write, through Payload and Delivered. It returns what the handler saw
// and the first error.
func pushParse(data []byte, next chunker, deliver *rand.Rand) (*collector, *Decoder, error) {
	c := &collector{}
	d := NewDecoder(c)
	for len(data) > 0 {
		if deliver != nil && deliver.IntN(3) == 0 {
			if _, left := d.Payload(); left > 0 {
				n := min(int64(len(data)), left, int64(1+deliver.IntN(100)))
				last := &c.parts[len(c.parts)-1]
				last.Data = append(last.Data, data[:n]...)
				if err := d.Delivered(n); err != nil {
					return c, d, err
				}
				data = data[n:]
				continue
			}
		}
		n := next(len(data))
		m, err := d.Write(data[:n])
		if err != nil {
			if m >= n {
				return c, d, fmt.Errorf("Write took %d of %d bytes with error %w", m, n, err)
			}
			return c, d, err
		}
		if m != n {
			return c, d, fmt.Errorf("Write took %d of %d bytes without error", m, n)
		}
		data = data[n:]
	}
	return c, d, d.Close()
}

// pullParse reads data with a Reader over a plain reader, every payload
// read in full, and returns the records, whether each is complete, and the
// terminating error (nil for a clean end).
func pullParse(data []byte) ([]part, []bool, error) {
	r := NewReader(&plainReader{bytes.NewReader(data)})
	var parts []part
	var complete []bool
	for {
		h, err := r.Next()
		if err == io.EOF {
			return parts, complete, nil
		}
		if err != nil {
			return parts, complete, err
		}
		payload, err := io.ReadAll(r)
		if payload == nil {
			payload = []byte{}
		}
		parts = append(parts, part{Header: *h, Data: payload})
		complete = append(complete, err == nil)
		if err != nil {
			return parts, complete, err
		}
	}
}

// agree checks that the push decoder saw what the pull Reader saw: the
// same headers, payload bytes and completeness, and an error of the same
// kind (with the same text, except for a payload cut short, which the
// Reader reports bare from Read).
func agree(t *testing.T, what string, push *collector, pushErr error, pull []part, pullComplete []bool, pullErr error) {
	t.Helper()
	if len(push.parts) != len(pull) {
		t.Fatalf("%s: decoder saw %d records (%v), Reader %d (%v)", what, len(push.parts), pushErr, len(pull), pullErr)
	}
	for i := range pull {
		if push.parts[i].Header != pull[i].Header || !bytes.Equal(push.parts[i].Data, pull[i].Data) || push.complete[i] != pullComplete[i] {
			t.Fatalf("%s: record %d: decoder %+v (%d bytes, complete %v), Reader %+v (%d bytes, complete %v)", what, i,
				push.parts[i].Header, len(push.parts[i].Data), push.complete[i], pull[i].Header, len(pull[i].Data), pullComplete[i])
		}
	}
	if (pushErr == nil) != (pullErr == nil) {
		t.Fatalf("%s: decoder error %v, Reader error %v", what, pushErr, pullErr)
	}
	if pullErr == nil {
		return
	}
	if unwrapKind(pushErr) != unwrapKind(pullErr) {
		t.Fatalf("%s: decoder error %v, Reader error %v: different kinds", what, pushErr, pullErr)
	}
	inPayload := len(pull) > 0 && !pullComplete[len(pull)-1]
	if !inPayload && pushErr.Error() != pullErr.Error() {
		t.Fatalf("%s: decoder error %q, Reader error %q", what, pushErr, pullErr)
	}
}

// decoderInputs are streams for the agreement tests: the golden samples,
// the sparse stream, every prefix of a few of them, and the corrupt
// headers of TestReaderCorruptHeader.
func decoderInputs(t *testing.T) map[string][]byte {
	in := map[string][]byte{}
	for _, file := range []string{"sample.dump.jsonl", "sample.rebuilt.dump.jsonl"} {
		for i, rec := range loadRecords(t, file) {
			if rec.StreamB64 != nil {
				in[fmt.Sprintf("%s/%d", file, i)] = mustB64(t, *rec.StreamB64)
			}
		}
	}
	for name, s := range truncationStreams(t) {
		for cut := 0; cut < len(s); cut++ {
			in[fmt.Sprintf("%s/cut%d", name, cut)] = s[:cut]
		}
	}
	valid := cat(rawHeader(1, 0, 3, 0), []byte("abc"))
	for name, s := range map[string][]byte{
		"odd name size":           cat(rawHeader(4, 0, 0, 3), []byte("abcd")),
		"size 2^63":               rawHeader(1, 0, 1<<63, 0),
		"sparse size 7":           cat(rawHeader(9, 8, 7, 0), make([]byte, 15)),
		"sparse size 8":           cat(rawHeader(9, 8, 8, 0), make([]byte, 8)),
		"name over MaxNameBytes":  cat(rawHeader(4, 0, 0, MaxNameBytes+2), make([]byte, MaxNameBytes+2)),
		"name of MaxNameBytes":    cat(rawHeader(4, 0, 0, MaxNameBytes), bytes.Repeat([]byte{'a', 0}, MaxNameBytes/2)),
		"corrupt after a record":  cat(valid, rawHeader(1, 0, 0, 5)),
		"too large after records": cat(valid, valid, rawHeader(1, 0, 0, 1<<20)),
		"unknown stream id":       cat(rawHeader(42, 0xffffffff, 1, 0), []byte{7}),
		"unpaired surrogates":     cat(rawHeader(4, 0, 1, 6), utf16LE([]uint16{'a', 0, 0xd800}), []byte("x")),
		"size 2^63-1 cut":         cat(rawHeader(1, 0, math.MaxInt64, 0), []byte("abc")),
		"empty":                   {},
	} {
		in[name] = s
	}
	return in
}

// TestDecoderAgreesWithReader decodes every input in several chunkings
// (whole, byte by byte, 7 bytes, random sizes, random sizes with payload
// delivered outside Write) and compares with the pull Reader.
func TestDecoderAgreesWithReader(t *testing.T) {
	inputs := decoderInputs(t)
	if len(inputs) < 100 {
		t.Fatalf("only %d inputs", len(inputs))
	}
	for name, data := range inputs {
		pull, pullComplete, pullErr := pullParse(data)
		for _, ck := range []struct {
			name    string
			next    chunker
			deliver bool
		}{
			{"whole", fixedChunks(len(data) + 1), false},
			{"bytes", fixedChunks(1), false},
			{"7", fixedChunks(7), false},
			{"random", randomChunks(uint64(len(data))), false},
			{"delivered", randomChunks(uint64(len(data)) + 1), true},
		} {
			var deliver *rand.Rand
			if ck.deliver {
				deliver = rand.New(rand.NewPCG(1, uint64(len(data))))
			}
			push, d, pushErr := pushParse(data, ck.next, deliver)
			agree(t, name+"/"+ck.name, push, pushErr, pull, pullComplete, pullErr)
			if pushErr == nil && d.Offset() != int64(len(data)) {
				t.Fatalf("%s/%s: Offset %d, want %d", name, ck.name, d.Offset(), len(data))
			}
		}
	}
}

// TestDecoderEvents checks the order of the Handler's calls, an empty
// payload included.
func TestDecoderEvents(t *testing.T) {
	stream := cat(rawHeader(3, 0, 0, 0), rawHeader(1, 0, 5, 0), []byte("hello"),
		rawHeader(9, 8, 10, 0), []byte{4, 0, 0, 0, 0, 0, 0, 0}, []byte("ab"))
	tests := []struct {
		chunk int
		want  string
	}{
		{len(stream), "H E H P5 E H P2 E"},
		{42, "H E H P2 P3 E H P2 E"},
		{1, "H E H P1 P1 P1 P1 P1 E H P1 P1 E"},
	}
	for _, tc := range tests {
		c, _, err := pushParse(stream, fixedChunks(tc.chunk), nil)
		if err != nil {
			t.Fatalf("chunk %d: %v", tc.chunk, err)
		}
		if got := strings.Join(c.events, " "); got != tc.want {
			t.Errorf("chunk %d: events %q, want %q", tc.chunk, got, tc.want)
		}
		if c.parts[2].Offset != 4 || c.parts[2].Size != 2 {
			t.Errorf("chunk %d: sparse block %+v, want offset 4 size 2", tc.chunk, c.parts[2].Header)
		}
	}
}

// TestDecoderHandlerError makes the handler fail at each of its calls:
// Write returns that error having taken fewer bytes than given, and the
// error sticks for Write, Delivered and Close without calling the handler
// again.
func TestDecoderHandlerError(t *testing.T) {
	stream := cat(rawHeader(3, 0, 0, 0), rawHeader(1, 0, 5, 0), []byte("hello"), rawHeader(4, 0, 2, 4), utf16LEString("ab"), []byte("xy"))
	calls := len(strings.Fields("H E H P5 E H P2 E"))
	for failAt := 1; failAt <= calls; failAt++ {
		t.Run(fmt.Sprint(failAt), func(t *testing.T) {
			c := &collector{failAt: failAt}
			d := NewDecoder(c)
			n, err := d.Write(stream)
			if !errors.Is(err, errHandler) || err != c.failErr {
				t.Fatalf("Write error %v, want the handler's %v", err, c.failErr)
			}
			if n >= len(stream) {
				t.Fatalf("Write took %d of %d bytes with an error", n, len(stream))
			}
			seen := c.calls
			if n2, err2 := d.Write(stream[n:]); n2 != 0 || err2 != err {
				t.Errorf("second Write: %d, %v; want 0 and the sticky error", n2, err2)
			}
			if err2 := d.Delivered(1); err2 != err {
				t.Errorf("Delivered: %v, want the sticky error", err2)
			}
			if err2 := d.Close(); err2 != err {
				t.Errorf("Close: %v, want the sticky error", err2)
			}
			if c.calls != seen {
				t.Errorf("handler called %d more times after its error", c.calls-seen)
			}
		})
	}
}

// TestDecoderClose checks Close at every kind of place a stream can end.
func TestDecoderClose(t *testing.T) {
	rec := cat(rawHeader(4, 0, 2, 4), utf16LEString("ab"), []byte("xy"))
	sparse := cat(rawHeader(9, 8, 9, 0), []byte{1, 0, 0, 0, 0, 0, 0, 0}, []byte("z"))
	tests := []struct {
		name string
		in   []byte
		want string // "" for no error
	}{
		{"nothing", nil, ""},
		{"one record", rec, ""},
		{"in header", cat(rec, rec[:5]), "stream header at offset 26: unexpected EOF"},
		{"in name", cat(rec, rec[:21]), "stream name at offset 26: unexpected EOF"},
		{"in payload", rec[:25], "payload at offset 25: unexpected EOF"},
		{"in sparse offset", sparse[:23], "sparse block offset at offset 0: unexpected EOF"},
		{"sparse complete", sparse, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder(&collector{})
			if _, err := d.Write(tc.in); err != nil {
				t.Fatal(err)
			}
			err := d.Close()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Close: %v", err)
				}
				return
			}
			if !errors.Is(err, io.ErrUnexpectedEOF) || err.Error() != tc.want {
				t.Fatalf("Close: %v, want %q wrapping io.ErrUnexpectedEOF", err, tc.want)
			}
			if _, err2 := d.Write([]byte{1}); err2 != err {
				t.Errorf("Write after Close: %v, want the sticky %v", err2, err)
			}
		})
	}
}

// TestDecoderDelivered checks payload delivered outside Write: Payload
// reports the record and what is left, Delivered ends the record, and
// delivering more than is left, or outside a payload, fails.
func TestDecoderDelivered(t *testing.T) {
	c := &collector{}
	d := NewDecoder(c)
	if h, left := d.Payload(); h != nil || left != 0 {
		t.Fatalf("Payload before a header: %v, %d", h, left)
	}
	if _, err := d.Write(cat(rawHeader(1, 0, 10, 0), []byte("abc"))); err != nil {
		t.Fatal(err)
	}
	h, left := d.Payload()
	if h == nil || h.ID != StreamData || left != 7 {
		t.Fatalf("Payload: %v, %d; want the data record and 7", h, left)
	}
	if err := d.Delivered(7); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.events, " "); got != "H P3 E" {
		t.Fatalf("events %q", got)
	}
	if d.Offset() != HeaderSize+10 {
		t.Errorf("Offset %d, want %d", d.Offset(), HeaderSize+10)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		in   []byte
		n    int64
	}{
		{"past the payload", rawHeader(1, 0, 2, 0), 3},
		{"negative", rawHeader(1, 0, 2, 0), -1},
		{"between records", nil, 1},
		{"inside a header", rawHeader(1, 0, 2, 0)[:10], 1},
	} {
		d := NewDecoder(&collector{})
		if _, err := d.Write(tc.in); err != nil {
			t.Fatal(err)
		}
		err := d.Delivered(tc.n)
		if !errors.Is(err, ErrWriteTooLong) {
			t.Errorf("%s: Delivered(%d) = %v, want ErrWriteTooLong", tc.name, tc.n, err)
		}
		if err2 := d.Close(); err2 != err {
			t.Errorf("%s: Close = %v, want the sticky error", tc.name, err2)
		}
	}
}

// TestDecoderBoundedMemory checks that a header claiming a large name
// costs memory only for the name bytes that arrive.
func TestDecoderBoundedMemory(t *testing.T) {
	in := cat(rawHeader(4, 0, 0, MaxNameBytes), []byte{'a', 0, 'b', 0})
	d := NewDecoder(&collector{})
	alloc := allocBytes(func() {
		d.Reset(&collector{})
		if _, err := d.Write(in); err != nil {
			t.Fatal(err)
		}
	})
	if alloc > 4<<10 {
		t.Errorf("allocated %d bytes for a 4-byte name prefix", alloc)
	}
}

// TestAppendHeader checks the encoder's bytes, its refusals (dst left as
// it was) and that what it writes decodes to the same header.
func TestAppendHeader(t *testing.T) {
	tests := []struct {
		name string
		h    Header
		want []byte
		err  error
	}{
		{"data", Header{ID: StreamData, Attributes: 8, Size: 5}, rawHeader(1, 8, 5, 0), nil},
		{"ads", Header{ID: StreamAlternateData, Size: 2, Name: ":ab:$DATA"}, cat(rawHeader(4, 0, 2, 18), utf16LEString(":ab:$DATA")), nil},
		{"sparse", Header{ID: StreamSparseBlock, Attributes: 8, Size: 3, Offset: 9}, cat(rawHeader(9, 8, 11, 0), []byte{9, 0, 0, 0, 0, 0, 0, 0}), nil},
		{"astral", Header{ID: StreamAlternateData, Name: ":😀"}, cat(rawHeader(4, 0, 0, 6), utf16LE([]uint16{':', 0xd83d, 0xde00})), nil},
		{"unpaired surrogate", Header{ID: StreamAlternateData, Name: "a\xed\xa0\x80"}, cat(rawHeader(4, 0, 0, 4), utf16LE([]uint16{'a', 0xd800})), nil},
		{"invalid UTF-8", Header{ID: StreamAlternateData, Name: "\xff"}, cat(rawHeader(4, 0, 0, 2), utf16LE([]uint16{0xfffd})), nil},
		{"negative size", Header{ID: StreamData, Size: -1}, nil, ErrCorrupt},
		{"sparse too large", Header{ID: StreamSparseBlock, Size: math.MaxInt64 - 7}, nil, ErrTooLarge},
		{"name too long", Header{ID: StreamAlternateData, Name: strings.Repeat("a", MaxNameBytes/2+1)}, nil, ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prefix := []byte("xyz")
			got, err := AppendHeader(prefix, &tc.h)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || string(got) != "xyz" {
					t.Fatalf("AppendHeader = %x, %v; want xyz unchanged and %v", got, err, tc.err)
				}
				return
			}
			if err != nil || !bytes.Equal(got[3:], tc.want) {
				t.Fatalf("AppendHeader = %x, %v; want %x", got[3:], err, tc.want)
			}
			c := &collector{}
			d := NewDecoder(c)
			if _, err := d.Write(got[3:]); err != nil || len(c.parts) != 1 {
				t.Fatalf("decoding: %v, %d records", err, len(c.parts))
			}
			back := c.parts[0].Header
			want := tc.h
			if tc.name == "invalid UTF-8" {
				want.Name = "\ufffd"
			}
			if back != want {
				t.Errorf("decodes to %+v, want %+v", back, tc.h)
			}
		})
	}
}
