package decompress

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/winlayer/winlayer/layer"
	"github.com/winlayer/winlayer/layer/layertest"
)

// TestReaderErrors: each way a compressed stream can be damaged gives an
// error that says what happened, the truncated ones matching
// layer.ErrTruncated and io.ErrUnexpectedEOF; whole streams decode to the
// tar and report their format.
func TestReaderErrors(t *testing.T) {
	tarBytes := layertest.Tar(layertest.Dir("Files"), layertest.File("Files/a.bin", layertest.Bytes(9, 50000)))
	gz := fuzzGzip(t, tarBytes)
	zs := fuzzZstd(t, tarBytes)
	badCRC := bytes.Clone(gz)
	badCRC[len(badCRC)-8] ^= 0xff
	garbageAfter := append(bytes.Clone(gz), "junk after the stream"...)
	for _, tc := range []struct {
		name      string
		in        []byte
		format    Format
		want      string // empty: decodes to tarBytes
		truncated bool
	}{
		{"plain", tarBytes, None, "", false},
		{"gzip", gz, Gzip, "", false},
		{"zstd", zs, Zstd, "", false},
		{"gzip cut in the data", gz[:len(gz)/2], Gzip, "truncated gzip stream", true},
		{"gzip without its trailer", gz[:len(gz)-8], Gzip, "truncated gzip stream", true},
		{"gzip magic only", gz[:4], Gzip, "truncated gzip stream", true},
		{"gzip with a wrong CRC", badCRC, Gzip, "gzip stream: the CRC-32 or size in its trailer does not match the data", false},
		{"gzip with junk after it", garbageAfter, Gzip, "gzip stream: damaged header or data after its end", false},
		{"zstd cut", zs[:len(zs)-10], Zstd, "truncated zstd stream", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, f, release, err := Reader(bufio.NewReader(bytes.NewReader(tc.in)))
			var out []byte
			if err == nil {
				out, err = io.ReadAll(r)
				release()
			}
			if f != tc.format {
				t.Errorf("format %q, want %q", f, tc.format)
			}
			if tc.want == "" {
				if err != nil || !bytes.Equal(out, tarBytes) {
					t.Fatalf("decoded %d bytes, %v; want the tar's %d", len(out), err, len(tarBytes))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
			if got := errors.Is(err, layer.ErrTruncated) && errors.Is(err, io.ErrUnexpectedEOF); got != tc.truncated {
				t.Errorf("error %v matches layer.ErrTruncated and io.ErrUnexpectedEOF: %v, want %v", err, got, tc.truncated)
			}
		})
	}
}
