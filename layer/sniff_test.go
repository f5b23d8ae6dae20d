package layer

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"math/rand"
	"path/filepath"
	"strings"
	"testing"

	lt "github.com/winlayer/winlayer/layer/layertest"
)

// TestImportNotTar: an input that is not a tar is refused as "not a tar"
// with what it looks like (before, every one was "archive/tar: invalid tar
// header"), a tar cut inside its first header is reported as truncated,
// and the store is left as it was.
func TestImportNotTar(t *testing.T) {
	good := lt.Tar(lt.Dir("Files"), lt.File("Files/a.txt", []byte("hello")))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(good)
	zw.Close()
	random := make([]byte, 4096)
	rand.New(rand.NewSource(1)).Read(random)
	random[0] = 0xee // no magic
	damaged := append([]byte(nil), good...)
	copy(damaged[148:156], "garbage!") // the header checksum
	for _, tc := range []struct {
		name, want string
		in         []byte
		wantErr    error
	}{
		{"gzip", "not a tar: the input is gzip-compressed: decompress it first", gz.Bytes(), ErrNotTar},
		{"zstd", "not a tar: the input is zstd-compressed: decompress it first", append([]byte{0x28, 0xb5, 0x2f, 0xfd}, random[:600]...), ErrNotTar},
		{"bzip2", "not a tar: the input is bzip2-compressed", append([]byte("BZh91AY&SY"), random[:600]...), ErrNotTar},
		{"xz", "not a tar: the input is xz-compressed", append([]byte{0xfd, '7', 'z', 'X', 'Z', 0}, random[:600]...), ErrNotTar},
		{"zip", "not a tar: the input is a zip archive", append([]byte("PK\x03\x04"), random[:600]...), ErrNotTar},
		{"text", `not a tar: the input is text ("{\"schemaVersion\": 2,"), not a tar`, []byte("{\"schemaVersion\": 2,\n" + strings.Repeat("  \"x\": 1,\n", 80)), ErrNotTar},
		// Short heads that are no text: a lone continuation byte (the
		// defect, found by FuzzImportExport: a slice out of range), a
		// lone lead byte, a text cut inside its last rune is still text.
		{"continuation byte", "not a tar: the input is neither a tar nor a compressed tar", []byte{0x91}, ErrNotTar},
		{"lead byte", "not a tar: the input is neither a tar nor a compressed tar", []byte{0xe2}, ErrNotTar},
		{"two invalid bytes", "not a tar: the input is neither a tar nor a compressed tar", []byte{0xff, 0xfe}, ErrNotTar},
		{"text cut in a rune", `not a tar: the input is text ("caf\xc3"), not a tar`, []byte("caf\xc3"), ErrNotTar},
		{"random", "not a tar: the input is neither a tar nor a compressed tar", random, ErrNotTar},
		{"empty", "not a tar: the input is empty", nil, ErrNotTar},
		{"damaged header", "not a tar: the input starts like a tar header but the header is damaged", damaged, ErrNotTar},
		{"cut in the first header", "unexpected EOF", good[:300], ErrTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := filepath.Join(t.TempDir(), "store")
			s, err := Open(home)
			if err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, home)
			_, err = s.Import(context.Background(), "x", nil, bytes.NewReader(tc.in))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "import x: ") {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			if after := snapshot(t, home); strings.Join(after, "\n") != strings.Join(before, "\n") {
				t.Errorf("store changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

// errAfter returns its bytes, then err.
type errAfter struct {
	r   io.Reader
	err error
}

func (e *errAfter) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		return n, e.err
	}
	return n, err
}

// TestImportSourceErrorAtEnd: an error of the source after the tar's last
// byte (a decompressor that finds the stream's trailer missing reports
// io.ErrUnexpectedEOF there) fails the import; before, the read-ahead
// turned io.ErrUnexpectedEOF into a clean end and the layer was stored.
func TestImportSourceErrorAtEnd(t *testing.T) {
	good := lt.Tar(lt.Dir("Files"), lt.File("Files/a.txt", []byte("hello")))
	for _, srcErr := range []error{io.ErrUnexpectedEOF, errors.New("gzip: invalid checksum")} {
		t.Run(srcErr.Error(), func(t *testing.T) {
			s, err := Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Import(context.Background(), "x", nil, &errAfter{r: bytes.NewReader(good), err: srcErr})
			if !errors.Is(err, srcErr) {
				t.Fatalf("error %v, want %v", err, srcErr)
			}
			if s.Exists("x") {
				t.Error("the layer was stored")
			}
		})
	}
}

// TestValidateIDMessage: the invalid-id message shows the bad character as
// the user typed it (before, a byte of a multibyte character was shown:
// 'â') and says which characters an id may hold.
func TestValidateIDMessage(t *testing.T) {
	for _, tc := range []struct{ id, want string }{
		{"a€b", `"a€b": character 2 is '€' (U+20AC) (an id is letters A-Z a-z, digits 0-9 and _ . -, starting with a letter or digit): invalid layer id`},
		{"my layer", `"my layer": character 3 is ' ' (U+0020) (an id is letters`},
		{"-x", `"-x": character 1 is '-' first (an id is`},
		{"a\xffb", `"a\xffb": character 2 is byte 0xff (not UTF-8)`},
		{"", `"": length 0 not in 1..128 (an id is letters`},
		{"x-removing", `"x-removing": ends in "-removing", which the store uses while removing a layer`},
	} {
		t.Run(tc.id, func(t *testing.T) {
			err := ValidateID(tc.id)
			if !errors.Is(err, ErrInvalidID) || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("ValidateID(%q) = %q, want prefix %q", tc.id, err, tc.want)
			}
		})
	}
}
