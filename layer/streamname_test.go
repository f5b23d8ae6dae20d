package layer

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/winlayer/winlayer/backupstream"
	"github.com/winlayer/winlayer/layer/layertest"
	"github.com/winlayer/winlayer/wintar"
)

// TestImportNameEncoding imports tars whose names (of files and of
// alternate data streams) are UTF-8, WTF-8 or neither: a UTF-8 name is
// kept exactly (the export has the same bytes), any other is refused
// naming the entry, and the store is left as it was. A stream name that
// is not UTF-8 used to be imported under another name (U+FFFD), so that
// the export then failed.
func TestImportNameEncoding(t *testing.T) {
	d, f := layertest.Dir, layertest.File
	tests := []struct {
		name    string
		entries []layertest.Entry
		bad     string // the refused entry, "" when the tar imports
		want    string // in the error
	}{
		{"stream é", []layertest.Entry{d("Files"), f("Files/a.txt", []byte("hi")), f("Files/a.txt:é", []byte("s"))}, "", ""},
		{"stream U+FFFD", []layertest.Entry{d("Files"), f("Files/a.txt", []byte("hi")), f("Files/a.txt:\uFFFD", []byte("s"))}, "", ""},
		{"stream beyond the BMP", []layertest.Entry{d("Files"), f("Files/a.txt", []byte("hi")), f("Files/a.txt:😀", []byte("s"))}, "", ""},
		{"file 日本語", []layertest.Entry{d("Files"), f("Files/日本語.txt", []byte("hi")), f("Files/日本語.txt:日", nil)}, "", ""},
		{"stream \\xff", []layertest.Entry{d("Files"), f("Files/a.txt", []byte("hi")), f("Files/a.txt:\xff", []byte("s"))},
			"Files/a.txt:\xff", "byte 0xff at offset 12"},
		{"stream lone surrogate", []layertest.Entry{d("Files"), f("Files/a.txt", []byte("hi")), f("Files/a.txt:\xed\xa0\x80", []byte("s"))},
			"Files/a.txt:\xed\xa0\x80", "unpaired UTF-16 surrogate"},
		{"stream CESU-8 pair", []layertest.Entry{d("Files"), f("Files/a.txt", []byte("hi")), f("Files/a.txt:\xed\xa0\x80\xed\xb0\x80", []byte("s"))},
			"Files/a.txt:\xed\xa0\x80\xed\xb0\x80", "surrogate pair in CESU-8"},
		{"file \\xff", []layertest.Entry{d("Files"), f("Files/\xff.txt", []byte("hi"))}, "Files/\xff.txt", "byte 0xff at offset 6"},
		{"dir lone surrogate", []layertest.Entry{d("Files"), d("Files/\xed\xbf\xbf")}, "Files/\xed\xbf\xbf", "unpaired UTF-16 surrogate"},
		{"hard link target", []layertest.Entry{d("Files"), f("Files/a", nil), {Name: "Files/b", Type: '1', Link: "Files/\xc0"}},
			"Files/b", "byte 0xc0"},
		{"whiteout", []layertest.Entry{d("Files"), {Name: "Files/.wh.\xfe", NoMeta: true}}, "Files/.wh.\xfe", "byte 0xfe"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			in := layertest.Tar(tc.entries...)
			before := storeTree(t, s.Home())
			_, err = s.Import(context.Background(), "l", nil, bytes.NewReader(in))
			if tc.bad == "" {
				if err != nil {
					t.Fatal(err)
				}
				if out := exportAll(t, s, "l"); !bytes.Equal(out, in) {
					t.Fatalf("export differs from the import (%d bytes in, %d out)", len(in), len(out))
				}
				return
			}
			if err == nil {
				t.Fatalf("import accepted the name; export then gives %v", exportErr(s, "l"))
			}
			var ee *wintar.EntryError
			if !errors.As(err, &ee) || ee.Name != tc.bad {
				t.Errorf("error %q does not name the entry %q", err, tc.bad)
			}
			if !errors.Is(err, wintar.ErrNameNotUTF8) || !errors.Is(err, wintar.ErrUnsafeName) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q: want ErrNameNotUTF8 and %q", err, tc.want)
			}
			if after := storeTree(t, s.Home()); after != before {
				t.Errorf("refused import changed the store:\n%s\nvs\n%s", before, after)
			}
		})
	}
}

// exportErr returns the error exporting layer id gives, if any.
func exportErr(s *Store, id string) error {
	rc, err := s.Export(context.Background(), id)
	if err != nil {
		return err
	}
	defer rc.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(rc)
	return err
}

// TestWriterStreamNames gives the Writer backup streams whose alternate
// data stream names are decoded by the codec's decoder (as go-winio
// does): names kept unit for unit, and a name with an unpaired surrogate
// (WTF-8, which the index could not keep) refused naming the file. The
// store's former decoder turned such a unit into U+FFFD, keeping a name
// the stream did not hold.
func TestWriterStreamNames(t *testing.T) {
	tests := []struct {
		name  string
		units []uint16
		want  string // the name kept; "" when refused
	}{
		{"ascii", []uint16{':', 's', ':', '$', 'D', 'A', 'T', 'A'}, ":s:$DATA"},
		{"pair", []uint16{':', 0xd83d, 0xde00, ':', '$', 'D', 'A', 'T', 'A'}, ":😀:$DATA"},
		{"U+FFFD", []uint16{':', 0xfffd}, ":\uFFFD"},
		{"lone high", []uint16{':', 0xd800, ':', '$', 'D', 'A', 'T', 'A'}, ""},
		{"lone low", []uint16{':', 'a', 0xdfff}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, w := newStoreWriter(t, "l")
			defer w.Abort()
			if err := w.Add(`Files\a.txt`, &backupstream.FileBasicInfo{FileAttributes: backupstream.AttrArchive}); err != nil {
				t.Fatal(err)
			}
			hdr := make([]byte, backupstream.HeaderSize+2*len(tc.units))
			binary.LittleEndian.PutUint32(hdr[0:], uint32(backupstream.StreamAlternateData))
			binary.LittleEndian.PutUint64(hdr[8:], 1)
			binary.LittleEndian.PutUint32(hdr[16:], uint32(2*len(tc.units)))
			for i, u := range tc.units {
				binary.LittleEndian.PutUint16(hdr[backupstream.HeaderSize+2*i:], u)
			}
			_, err := w.Write(append(hdr, 'x'))
			if tc.want == "" {
				if err == nil || !errors.Is(err, ErrInvalidEntry) || !strings.Contains(err.Error(), `"Files/a.txt"`) ||
					!strings.Contains(err.Error(), "unpaired UTF-16 surrogate") {
					t.Fatalf("Write = %v, want a refusal naming the file and the surrogate", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			es, _, err := s.Entries(context.Background(), "l")
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range es {
				if e.Name == "Files/a.txt" {
					if len(e.ADS) != 1 || e.ADS[0].Name != tc.want {
						t.Fatalf("streams %+v, want one named %q", e.ADS, tc.want)
					}
					return
				}
			}
			t.Fatal("Files/a.txt not in the index")
		})
	}
}
