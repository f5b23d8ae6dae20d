package layer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/winlayer/winlayer/layer/layertest"
)

// TestExportVerifyBeforeWrite damages one payload (a small one, held in
// memory, and one over maxHeldPayload, read twice) and checks that an
// export with VerifyBeforeWrite fails with ErrCorrupt before any byte of
// that payload is written, while a plain export (the baseline) has
// already written part of it when it fails; an undamaged layer exports
// byte for byte either way.
func TestExportVerifyBeforeWrite(t *testing.T) {
	small := layertest.Bytes(1, 5000)
	large := layertest.Bytes(2, maxHeldPayload+3<<20)
	in := layertest.Tar(layertest.Dir("Files"), layertest.File("Files/a.txt", []byte("first")),
		layertest.File("Files/small.bin", small), layertest.File("Files/large.bin", large))
	for _, tc := range []struct {
		name string
		data []byte
	}{{"small.bin", small}, {"large.bin", large}} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.TempDir())
			mustDo(t, err)
			_, err = s.Import(context.Background(), "l", nil, bytes.NewReader(in))
			mustDo(t, err)
			for _, verify := range []bool{false, true} {
				var opts []ExportOption
				if verify {
					opts = append(opts, VerifyBeforeWrite())
				}
				rc, err := s.Export(context.Background(), "l", opts...)
				mustDo(t, err)
				var out bytes.Buffer
				_, err = io.Copy(&out, rc)
				rc.Close()
				if err != nil || !bytes.Equal(out.Bytes(), in) {
					t.Fatalf("verify %v: clean export: %v, equal %v", verify, err, bytes.Equal(out.Bytes(), in))
				}
			}
			start := bytes.Index(in, tc.data[:64])
			flipByte(t, filepath.Join(s.Dir("l"), "Files", tc.name), int64(len(tc.data)-1))
			for _, verify := range []bool{false, true} {
				var opts []ExportOption
				if verify {
					opts = append(opts, VerifyBeforeWrite())
				}
				rc, err := s.Export(context.Background(), "l", opts...)
				mustDo(t, err)
				var out bytes.Buffer
				_, err = io.Copy(&out, rc)
				rc.Close()
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("verify %v: export of a damaged payload: %v, want ErrCorrupt", verify, err)
				}
				if verify && out.Len() > start {
					t.Errorf("VerifyBeforeWrite wrote %d bytes, %d of the damaged payload (it starts at %d)", out.Len(), out.Len()-start, start)
				}
				if !verify && out.Len() <= start {
					t.Errorf("plain export wrote %d bytes, none of the payload at %d: the test shows nothing", out.Len(), start)
				}
			}
		})
	}
}
