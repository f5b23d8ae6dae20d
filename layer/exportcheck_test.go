package layer

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vbatts/tar-split/tar/storage"

	"github.com/winlayer/winlayer/internal/splitrec"
)

// rewriteRecord decodes a layer's tar-split record, lets edit change its
// entries and writes it back.
func rewriteRecord(t *testing.T, dir string, edit func([]storage.Entry) []storage.Entry) {
	t.Helper()
	p := filepath.Join(dir, metaDir, tarSplitFile)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	u := splitrec.NewUnpacker(zr)
	var es []storage.Entry
	for {
		e, err := u.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, *e)
	}
	f.Close()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	bp := splitrec.NewPacker(zw)
	for _, e := range edit(es) {
		if _, err := bp.AddEntry(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := bp.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestExportChecksDiffID: an export whose reassembled bytes are not the
// imported tar (a header byte changed in the tar-split record, the
// trailer lost) fails with ErrCorrupt, through Read and through WriteTo,
// instead of ending successfully with a tar whose sha256 is not the
// DiffID.
func TestExportChecksDiffID(t *testing.T) {
	in, err := os.ReadFile(filepath.Join(testdata, "sample.rebuilt.tar"))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]func([]storage.Entry) []storage.Entry{
		"header byte": func(es []storage.Entry) []storage.Entry {
			for i := range es {
				if es[i].Type == storage.SegmentType && len(es[i].Payload) >= 512 {
					es[i].Payload = bytes.Clone(es[i].Payload)
					es[i].Payload[0] ^= 1
					break
				}
			}
			return es
		},
		"trailer lost": func(es []storage.Entry) []storage.Entry { return es[:len(es)-1] },
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Import(context.Background(), "l", nil, bytes.NewReader(in)); err != nil {
				t.Fatal(err)
			}
			rewriteRecord(t, s.Dir("l"), edit)
			for _, via := range []string{"Read", "WriteTo"} {
				rc, err := s.Export(context.Background(), "l")
				if err != nil {
					t.Fatal(err)
				}
				var out bytes.Buffer
				if via == "Read" {
					_, err = io.Copy(&out, struct{ io.Reader }{rc})
				} else {
					_, err = io.Copy(&out, rc)
				}
				rc.Close()
				t.Logf("%s: %v", via, err)
				if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "export l") {
					t.Errorf("%s: export of a changed record: %v (%d bytes, equal %v), want ErrCorrupt",
						via, err, out.Len(), bytes.Equal(out.Bytes(), in))
				}
			}
		})
	}
}
