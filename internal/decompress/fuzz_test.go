package decompress

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/winlayer/winlayer/layer"
	"github.com/winlayer/winlayer/layer/layertest"
)

// fuzzOutputCap bounds what a fuzz target reads from a decoder, so that a
// small compression bomb costs time bounded by the cap, not by its ratio.
const fuzzOutputCap = 8 << 20

// FuzzDecompress: Reader recognises gzip and zstd by their magic and
// passes anything else through unchanged; a stream it decodes to the end
// re-compresses (same format) to a stream that decodes to the same bytes;
// a cut stream decodes to an error or to a prefix of the whole output, and
// a one-frame stream cut short to an error wrapping layer.ErrTruncated;
// garbage gives an error, never a panic or a hang.
func FuzzDecompress(f *testing.F) {
	tars := [][]byte{
		layertest.Tar(layertest.Dir("Files"), layertest.File("Files/a.txt", layertest.Bytes(70, 3000))),
		layertest.Tar(layertest.Dir("Files"), layertest.File("Files/b.bin", layertest.Bytes(71, 70000))),
	}
	for _, tb := range [][]byte{tars[0], []byte("plain"), {}, {0x1f}, {0x1f, 0x8b}, {0x28, 0xb5, 0x2f}} {
		f.Add(tb)
		f.Add(fuzzGzip(f, tb))
		f.Add(fuzzZstd(f, tb))
	}
	f.Add(fuzzGzip(f, tars[1])[:100])
	f.Add(fuzzZstd(f, tars[1])[:100])
	f.Add(append(fuzzGzip(f, []byte("one")), fuzzGzip(f, []byte("two"))...))
	f.Add(append(fuzzZstd(f, []byte("one")), fuzzZstd(f, []byte("two"))...))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, comp, err := fuzzDecode(data)
		switch {
		case bytes.HasPrefix(data, []byte{0x1f, 0x8b, 0x08}):
			if comp != Gzip {
				t.Fatalf("gzip magic read as %q", comp)
			}
		case bytes.HasPrefix(data, []byte{0x28, 0xb5, 0x2f, 0xfd}):
			if comp != Zstd {
				t.Fatalf("zstd magic read as %q", comp)
			}
		default:
			if comp != None || err != nil || !bytes.Equal(out, data) {
				t.Fatalf("no magic: got %q, err %v, %d bytes for %d", comp, err, len(out), len(data))
			}
			return
		}
		if err != nil || len(out) >= fuzzOutputCap {
			return
		}
		// A whole stream: its content survives a round trip.
		var re []byte
		if comp == Gzip {
			re = fuzzGzip(t, out)
		} else {
			re = fuzzZstd(t, out)
		}
		again, comp2, err := fuzzDecode(re)
		if err != nil || comp2 != comp || !bytes.Equal(again, out) {
			t.Fatalf("re-compressed %s: %q, err %v, equal %v", comp, comp2, err, bytes.Equal(again, out))
		}
		// Our one-frame stream cut short is a truncated stream, as
		// Reader promises.
		for _, n := range []int{4, len(re) / 2, len(re) - 1} { // 4: the magic only
			if n <= 0 || n >= len(re) {
				continue
			}
			if _, _, err := fuzzDecode(re[:n]); !errors.Is(err, layer.ErrTruncated) {
				t.Fatalf("%s stream of %d bytes cut at %d: %v, want layer.ErrTruncated", comp, len(re), n, err)
			}
		}
		// A cut stream never decodes to bytes the whole one does not have.
		cut := data[:len(data)/2]
		part, _, err := fuzzDecode(cut)
		if !bytes.HasPrefix(out, part) {
			t.Fatalf("%s cut at %d of %d decodes to %d bytes that are no prefix of the %d of the whole (err %v)", comp, len(cut), len(data), len(part), len(out), err)
		}
	})
}

// fuzzDecode decodes data with Reader, reading at most fuzzOutputCap
// bytes.
func fuzzDecode(data []byte) ([]byte, Format, error) {
	r, comp, release, err := Reader(bufio.NewReader(bytes.NewReader(data)))
	if err != nil {
		if release != nil {
			release()
		}
		return nil, comp, err
	}
	defer release()
	out, err := io.ReadAll(io.LimitReader(r, fuzzOutputCap))
	return out, comp, err
}

func fuzzGzip(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func fuzzZstd(t testing.TB, b []byte) []byte {
	zw, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	defer zw.Close()
	return zw.EncodeAll(b, nil)
}
