package backupstream

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
	"testing/iotest"
)

// TestWriterGolden re-encodes every oracle stream byte for byte: once from
// the parts its record lists (WriteHeader + Write), once straight from a
// Reader with io.Copy (Reader.WriteTo into Writer.ReadFrom).
func TestWriterGolden(t *testing.T) {
	for _, file := range []string{"sample.dump.jsonl", "sample.rebuilt.dump.jsonl"} {
		for i, rec := range loadRecords(t, file) {
			if rec.StreamB64 == nil {
				continue
			}
			t.Run(fmt.Sprintf("%s/%d/%s", file, i, rec.Name), func(t *testing.T) {
				want := mustB64(t, *rec.StreamB64)
				if got := encodeParts(t, goldenParts(t, rec)); !bytes.Equal(got, want) {
					t.Errorf("from parts:\ngot  %x\nwant %x", got, want)
				}
				var buf bytes.Buffer
				w := NewWriter(&buf)
				r := NewReader(bytes.NewReader(want))
				for {
					h, err := r.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					if err := w.WriteHeader(h); err != nil {
						t.Fatal(err)
					}
					if n, err := io.Copy(w, r); err != nil || n != h.Size {
						t.Fatalf("io.Copy = %d, %v; want %d", n, err, h.Size)
					}
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(buf.Bytes(), want) {
					t.Errorf("through io.Copy:\ngot  %x\nwant %x", buf.Bytes(), want)
				}
			})
		}
	}
}

// TestWriterErrorVectorParts encodes the parts of the export-side oracle
// vectors (which carry no stream_b64) and reads them back unchanged.
func TestWriterErrorVectorParts(t *testing.T) {
	for _, name := range []string{"bad-ea-buffer", "reparse-truncated", "reparse-unsupported-tag", "sparse-ads",
		"sparse-missing-terminator", "sparse-non-sparse-block", "sparse-seek-back", "data-but-no-size",
		"size-mismatch", "unknown-stream-after-data"} {
		t.Run(name, func(t *testing.T) {
			rec := loadRecords(t, "errors/"+name+".jsonl")[1]
			parts := goldenParts(t, rec)
			got, err := readParts(NewReader(bytes.NewReader(encodeParts(t, parts))))
			if err != nil {
				t.Fatal(err)
			}
			comparePartLists(t, got, parts)
		})
	}
}

// Writer script operations.
type (
	opHeader struct {
		h       Header
		wantErr error
	}
	opWrite struct {
		data    string
		wantN   int
		wantErr error
	}
	opReadFrom struct {
		src     io.Reader
		wantN   int64
		wantErr error
	}
	opClose struct{ wantErr error }
)

func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

// TestWriterScript runs scripts of Writer operations and compares the
// output with hand-built bytes.
func TestWriterScript(t *testing.T) {
	ads := utf16LEString(":Zone.Identifier:$DATA")
	tests := []struct {
		name string
		ops  []any
		want []byte
	}{{
		name: "data record",
		ops:  []any{opHeader{h: Header{ID: StreamData, Size: 5}}, opWrite{data: "hello", wantN: 5}, opClose{}},
		want: cat(rawHeader(1, 0, 5, 0), []byte("hello")),
	}, {
		name: "payload in pieces",
		ops: []any{opHeader{h: Header{ID: StreamData, Size: 5}}, opWrite{data: "he", wantN: 2}, opWrite{data: "", wantN: 0},
			opWrite{data: "llo", wantN: 3}, opClose{}},
		want: cat(rawHeader(1, 0, 5, 0), []byte("hello")),
	}, {
		name: "named alternate data stream",
		ops: []any{opHeader{h: Header{ID: StreamAlternateData, Size: 3, Name: ":Zone.Identifier:$DATA"}},
			opWrite{data: "abc", wantN: 3}, opClose{}},
		want: cat(rawHeader(4, 0, 3, uint32(len(ads))), ads, []byte("abc")),
	}, {
		name: "attributes kept",
		ops:  []any{opHeader{h: Header{ID: StreamData, Attributes: AttrSparse | AttrContainsSecurity}}, opClose{}},
		want: rawHeader(1, 10, 0, 0),
	}, {
		name: "sparse block: size includes the offset",
		ops: []any{opHeader{h: Header{ID: StreamSparseBlock, Attributes: AttrSparse, Size: 4, Offset: 50}},
			opWrite{data: "late", wantN: 4}, opHeader{h: Header{ID: StreamSparseBlock, Attributes: AttrSparse, Offset: 100}}, opClose{}},
		want: cat(rawHeader(9, 8, 12, 0), le64(50), []byte("late"), rawHeader(9, 8, 8, 0), le64(100)),
	}, {
		name: "negative sparse offset",
		ops:  []any{opHeader{h: Header{ID: StreamSparseBlock, Offset: -1}}, opClose{}},
		want: cat(rawHeader(9, 0, 8, 0), le64(math.MaxUint64)),
	}, {
		name: "offset ignored on other streams",
		ops:  []any{opHeader{h: Header{ID: StreamData, Offset: 7}}, opClose{}},
		want: rawHeader(1, 0, 0, 0),
	}, {
		name: "unpaired surrogate in WTF-8 kept",
		ops:  []any{opHeader{h: Header{ID: StreamAlternateData, Name: "a\xed\xa0\x80b"}}, opClose{}},
		want: cat(rawHeader(4, 0, 0, 6), utf16LE([]uint16{'a', 0xd800, 'b'})),
	}, {
		name: "invalid UTF-8 as U+FFFD",
		ops:  []any{opHeader{h: Header{ID: StreamAlternateData, Name: "\xff:"}}, opClose{}},
		want: cat(rawHeader(4, 0, 0, 4), utf16LE([]uint16{0xfffd, ':'})),
	}, {
		name: "write too long writes nothing and does not stick",
		ops: []any{opHeader{h: Header{ID: StreamData, Size: 3}}, opWrite{data: "abcd", wantErr: ErrWriteTooLong},
			opWrite{data: "abc", wantN: 3}, opWrite{data: "x", wantErr: ErrWriteTooLong}, opClose{}},
		want: cat(rawHeader(1, 0, 3, 0), []byte("abc")),
	}, {
		name: "missing bytes at the next header",
		ops: []any{opHeader{h: Header{ID: StreamData, Size: 3}}, opWrite{data: "ab", wantN: 2},
			opHeader{h: Header{ID: StreamEAData}, wantErr: ErrMissingBytes}, opWrite{data: "c", wantN: 1},
			opHeader{h: Header{ID: StreamEAData}}, opClose{}},
		want: cat(rawHeader(1, 0, 3, 0), []byte("abc"), rawHeader(2, 0, 0, 0)),
	}, {
		name: "missing bytes at close",
		ops: []any{opHeader{h: Header{ID: StreamData, Size: 3}}, opWrite{data: "a", wantN: 1}, opClose{wantErr: ErrMissingBytes},
			opWrite{data: "bc", wantN: 2}, opClose{}},
		want: cat(rawHeader(1, 0, 3, 0), []byte("abc")),
	}, {
		name: "ReadFrom exact",
		ops: []any{opHeader{h: Header{ID: StreamData, Size: 3}}, opReadFrom{src: strings.NewReader("abc"), wantN: 3},
			opHeader{h: Header{ID: StreamEAData, Size: 1}}, opReadFrom{src: iotest.OneByteReader(strings.NewReader("e")), wantN: 1}, opClose{}},
		want: cat(rawHeader(1, 0, 3, 0), []byte("abc"), rawHeader(2, 0, 1, 0), []byte("e")),
	}, {
		name: "ReadFrom longer source",
		ops: []any{opHeader{h: Header{ID: StreamData, Size: 3}}, opReadFrom{src: strings.NewReader("abcdef"), wantN: 3, wantErr: ErrWriteTooLong},
			opHeader{h: Header{ID: StreamEAData}}, opClose{}},
		want: cat(rawHeader(1, 0, 3, 0), []byte("abc"), rawHeader(2, 0, 0, 0)),
	}, {
		name: "ReadFrom into an empty record",
		ops: []any{opHeader{h: Header{ID: StreamData}}, opReadFrom{src: strings.NewReader(""), wantN: 0},
			opReadFrom{src: strings.NewReader("x"), wantErr: ErrWriteTooLong}, opClose{}},
		want: rawHeader(1, 0, 0, 0),
	}, {
		name: "ReadFrom shorter source: missing bytes at the next header, then completed",
		ops: []any{opHeader{h: Header{ID: StreamData, Size: 5}}, opReadFrom{src: strings.NewReader("ab"), wantN: 2},
			opHeader{h: Header{ID: StreamEAData}, wantErr: ErrMissingBytes}, opClose{wantErr: ErrMissingBytes},
			opReadFrom{src: strings.NewReader("cde"), wantN: 3}, opHeader{h: Header{ID: StreamEAData}}, opClose{}},
		want: cat(rawHeader(1, 0, 5, 0), []byte("abcde"), rawHeader(2, 0, 0, 0)),
	}, {
		name: "ReadFrom source error sticks",
		ops: []any{opHeader{h: Header{ID: StreamData, Size: 5}},
			opReadFrom{src: io.MultiReader(strings.NewReader("ab"), iotest.ErrReader(errSrc)), wantN: 2, wantErr: errSrc},
			opWrite{data: "cde", wantErr: errSrc}, opHeader{h: Header{ID: StreamEAData}, wantErr: errSrc}, opClose{wantErr: errSrc}},
		want: cat(rawHeader(1, 0, 5, 0), []byte("ab")),
	}, {
		name: "negative size",
		ops:  []any{opHeader{h: Header{ID: StreamData, Size: -1}, wantErr: ErrCorrupt}, opClose{}},
		want: nil,
	}, {
		name: "name over MaxNameBytes",
		ops: []any{opHeader{h: Header{ID: StreamAlternateData, Name: strings.Repeat("a", MaxNameBytes/2+1)}, wantErr: ErrTooLarge},
			opHeader{h: Header{ID: StreamAlternateData, Name: strings.Repeat("😀", MaxNameBytes/4+1)}, wantErr: ErrTooLarge}, opClose{}},
		want: nil,
	}, {
		name: "name of MaxNameBytes",
		ops:  []any{opHeader{h: Header{ID: StreamAlternateData, Name: strings.Repeat("😀", MaxNameBytes/4)}}, opClose{}},
		want: cat(rawHeader(4, 0, 0, MaxNameBytes), bytes.Repeat(utf16LE([]uint16{0xd83d, 0xde00}), MaxNameBytes/4)),
	}, {
		name: "sparse size overflowing with its offset",
		ops: []any{opHeader{h: Header{ID: StreamSparseBlock, Size: math.MaxInt64 - 7}, wantErr: ErrTooLarge},
			opHeader{h: Header{ID: StreamSparseBlock, Size: math.MaxInt64 - 8}}},
		want: cat(rawHeader(9, 0, math.MaxInt64, 0), le64(0)),
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewWriter(&buf)
			for i, op := range tc.ops {
				switch op := op.(type) {
				case opHeader:
					err := w.WriteHeader(&op.h)
					checkErr(t, i, "WriteHeader", err, op.wantErr)
				case opWrite:
					n, err := w.Write([]byte(op.data))
					checkErr(t, i, "Write", err, op.wantErr)
					if n != op.wantN {
						t.Errorf("op %d: Write = %d, want %d", i, n, op.wantN)
					}
				case opReadFrom:
					n, err := w.ReadFrom(op.src)
					checkErr(t, i, "ReadFrom", err, op.wantErr)
					if n != op.wantN {
						t.Errorf("op %d: ReadFrom = %d, want %d", i, n, op.wantN)
					}
				case opClose:
					checkErr(t, i, "Close", w.Close(), op.wantErr)
				default:
					t.Fatalf("op %d: unknown %T", i, op)
				}
			}
			if !bytes.Equal(buf.Bytes(), tc.want) {
				t.Errorf("output:\ngot  %x\nwant %x", buf.Bytes(), tc.want)
			}
		})
	}
}

func checkErr(t *testing.T, i int, op string, got, want error) {
	t.Helper()
	if want == nil && got != nil || want != nil && !errors.Is(got, want) {
		t.Errorf("op %d: %s error %v, want %v", i, op, got, want)
	}
}

// TestWriterSticky checks that an error of the underlying writer sticks:
// the stream is broken and every later call says so.
func TestWriterSticky(t *testing.T) {
	for _, limit := range []int{0, 10, HeaderSize + 2} {
		t.Run(fmt.Sprintf("fail after %d", limit), func(t *testing.T) {
			fw := &failWriter{limit: limit, err: errDst}
			w := NewWriter(fw)
			err := w.WriteHeader(&Header{ID: StreamData, Size: 5})
			if err == nil {
				_, err = w.Write([]byte("hello"))
			}
			if !errors.Is(err, errDst) {
				t.Fatalf("first error %v, want %v", err, errDst)
			}
			if err := w.WriteHeader(&Header{ID: StreamEAData}); !errors.Is(err, errDst) {
				t.Errorf("WriteHeader: %v", err)
			}
			if _, err := w.Write(nil); !errors.Is(err, errDst) {
				t.Errorf("Write: %v", err)
			}
			if _, err := w.ReadFrom(strings.NewReader("x")); !errors.Is(err, errDst) {
				t.Errorf("ReadFrom: %v", err)
			}
			if err := w.Close(); !errors.Is(err, errDst) {
				t.Errorf("Close: %v", err)
			}
		})
	}
	t.Run("ReadFrom", func(t *testing.T) {
		fw := &failWriter{limit: HeaderSize + 3, err: errDst}
		w := NewWriter(fw)
		if err := w.WriteHeader(&Header{ID: StreamData, Size: 5}); err != nil {
			t.Fatal(err)
		}
		if n, err := w.ReadFrom(strings.NewReader("hello")); n != 3 || !errors.Is(err, errDst) {
			t.Errorf("ReadFrom = %d, %v; want 3, %v", n, err, errDst)
		}
		if err := w.Close(); !errors.Is(err, errDst) {
			t.Errorf("Close: %v", err)
		}
	})
}

// TestWriterRoundTrip writes headers of every kind and reads them back.
func TestWriterRoundTrip(t *testing.T) {
	_, parts := sparseStream()
	parts = append(parts,
		part{Header{ID: StreamID(0), Attributes: math.MaxUint32}, []byte{}},
		part{Header{ID: StreamID(math.MaxUint32), Name: "ünïcødé 😀 \xed\xb0\x80"}, []byte("x")},
		part{Header{ID: StreamSparseBlock, Offset: math.MinInt64}, []byte{}},
		part{Header{ID: StreamSparseBlock, Offset: math.MaxInt64, Name: "sparse-with-name"}, []byte("y")},
	)
	for i := range parts {
		parts[i].Size = int64(len(parts[i].Data))
	}
	got, err := readParts(NewReader(bytes.NewReader(encodeParts(t, parts))))
	if err != nil {
		t.Fatal(err)
	}
	comparePartLists(t, got, parts)
}

// TestWriterReadFromProbeError checks that an error met while checking the
// source for bytes past the payload is returned (the payload is complete,
// so the Writer stays usable).
func TestWriterReadFromProbeError(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.WriteHeader(&Header{ID: StreamData, Size: 2}); err != nil {
		t.Fatal(err)
	}
	src := io.MultiReader(strings.NewReader("ab"), iotest.ErrReader(errSrc))
	if n, err := w.ReadFrom(src); n != 2 || !errors.Is(err, errSrc) {
		t.Errorf("ReadFrom = %d, %v; want 2, %v", n, err, errSrc)
	}
	if err := w.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
