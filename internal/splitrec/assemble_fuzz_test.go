package splitrec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/vbatts/tar-split/tar/storage"
)

// dirGetter serves the files of a fixed set of names from a directory;
// any other name is fs.ErrNotExist (never a path joined from the record).
type dirGetter map[string]string

func (g dirGetter) Get(name string) (io.ReadCloser, error) {
	p, ok := g[name]
	if !ok {
		return nil, fmt.Errorf("get %q: %w", name, fs.ErrNotExist)
	}
	return os.Open(p)
}

// FuzzAssemble feeds arbitrary records to Assemble over a getter of real
// files (small ones and one of 2 MiB, large enough for the direct read-ahead on Linux):
// never a panic; a failure wraps ErrCorrupt (a malformed record),
// ErrMismatch (a payload of another size or checksum) or the getter's
// fs.ErrNotExist; a record that assembles writes its segments and
// payloads, nothing more, the same with and without verifyFirst (a file
// longer than recorded gives the recorded length, checked by its CRC).
func FuzzAssemble(f *testing.F) {
	dir := f.TempDir()
	files := map[string][]byte{
		"Files/a.txt": []byte("hello"),
		"Files/empty": nil,
		"Files/big":   bytes.Repeat([]byte("0123456789abcdef"), (2<<20)/16+1000),
	}
	g := dirGetter{}
	for i, name := range []string{"Files/a.txt", "Files/empty", "Files/big"} {
		p := filepath.Join(dir, fmt.Sprint(i))
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			f.Fatal(err)
		}
		g[name] = p
	}
	crcOf := func(b []byte) []byte {
		c := NewCRC()
		c.Write(b)
		return c.Sum(nil)
	}
	record := func(entries ...storage.Entry) []byte {
		var b bytes.Buffer
		p := NewPacker(&b)
		for _, e := range entries {
			if _, err := p.AddEntry(e); err != nil {
				f.Fatal(err)
			}
		}
		if err := p.Flush(); err != nil {
			f.Fatal(err)
		}
		return b.Bytes()
	}
	file := func(name string, size int64, crc []byte) storage.Entry {
		e := storage.Entry{Type: storage.FileType, Size: size, Payload: crc}
		e.SetName(name)
		return e
	}
	seg := func(b []byte) storage.Entry { return storage.Entry{Type: storage.SegmentType, Payload: b} }
	for _, rec := range [][]byte{
		record(seg(make([]byte, 512)), file("Files/a.txt", 5, crcOf(files["Files/a.txt"])), seg(make([]byte, 1024))),
		record(file("Files/big", int64(len(files["Files/big"])), crcOf(files["Files/big"])), file("Files/empty", 0, nil)),
		record(file("Files/a.txt", 4, crcOf(files["Files/a.txt"][:4]))),                                                               // a longer file
		record(file("Files/big", 7<<20, crcOf(nil))),                                                                                  // a shorter one
		record(file("Files/a.txt", -1, nil)),                                                                                          // a negative size
		record(file("Files/a.txt", 5, []byte{1, 2, 3, 4})),                                                                            // a wrong checksum
		record(file("../../etc/passwd", 5, nil)),                                                                                      // no such payload
		{1, 11, 'F', 'i', 'l', 'e', 's', '/', 'a', '.', 't', 'x', 't', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0}, // size 2^64-1
	} {
		f.Add(rec, false)
		f.Add(rec, true)
	}
	f.Fuzz(func(t *testing.T, rec []byte, verifyFirst bool) {
		var want int64
		ok := true
		u := NewUnpacker(bytes.NewReader(rec))
		for {
			e, err := u.Next()
			if err != nil {
				break
			}
			if e.Type == storage.SegmentType {
				want += int64(len(e.Payload))
			} else if e.Size != 0 {
				b, known := files[e.GetName()]
				// A longer file gives its first e.Size bytes, which the
				// checksum then vouches for.
				ok = ok && known && e.Size > 0 && int64(len(b)) >= e.Size
				want += e.Size
			}
		}
		var out bytes.Buffer
		err := Assemble(&out, NewUnpacker(bytes.NewReader(rec)), g, verifyFirst)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrMismatch) && !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("Assemble: %v wraps none of ErrCorrupt, ErrMismatch, fs.ErrNotExist", err)
			}
			return
		}
		if !ok {
			t.Fatalf("Assemble accepted a record naming a missing payload, or one shorter than recorded")
		}
		if int64(out.Len()) != want {
			t.Fatalf("Assemble wrote %d bytes, the record describes %d", out.Len(), want)
		}
		var again bytes.Buffer
		if err := Assemble(&again, NewUnpacker(bytes.NewReader(rec)), g, !verifyFirst); err != nil || !bytes.Equal(again.Bytes(), out.Bytes()) {
			t.Fatalf("Assemble with verifyFirst %v differs: %v", !verifyFirst, err)
		}
	})
}
