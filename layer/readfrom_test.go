package layer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"testing/iotest"

	"github.com/winlayer/winlayer/backupstream"
)

// newStoreWriter opens a store in a new temporary directory and a Writer
// of layer id in it.
func newStoreWriter(t *testing.T, id string) (*Store, *Writer) {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.NewWriter(context.Background(), id, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, w
}

// fileStream is the backup stream of a file with data of size bytes and
// one alternate data stream, and the data alone.
func fileStream(t *testing.T, size int, seed byte) (stream, data []byte) {
	t.Helper()
	data = make([]byte, size)
	for i := range data {
		data[i] = byte(i*31) ^ seed
	}
	var b bytes.Buffer
	bw := backupstream.NewWriter(&b)
	write := func(h backupstream.Header, p []byte) {
		if err := bw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := bw.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	write(backupstream.Header{ID: backupstream.StreamData, Size: int64(size)}, data)
	write(backupstream.Header{ID: backupstream.StreamAlternateData, Name: ":note:$DATA", Size: 5}, []byte("hello"))
	if err := bw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), data
}

// TestWriterReadFrom builds the same layer through Write and through
// ReadFrom with readers that return every possible chunking, and checks
// each exports the same tar and holds the right bytes on disk. Sizes
// cross the sink's thresholds and its buffer size, so ReadFrom reads
// straight into the sink's buffers.
func TestWriterReadFrom(t *testing.T) {
	sizes := []int{0, 1, 16<<10 - 1, 16 << 10, 512<<10 - 1, 512 << 10, 512<<10 + 1, 1<<20 + 4097, 3 << 20}
	type mode struct {
		name string
		feed func(w *Writer, stream []byte) error
	}
	modes := []mode{
		{"Write", func(w *Writer, s []byte) error { _, err := w.Write(s); return err }},
		{"ReadFrom", func(w *Writer, s []byte) error { _, err := w.ReadFrom(bytes.NewReader(s)); return err }},
		{"ReadFrom one byte", func(w *Writer, s []byte) error {
			_, err := w.ReadFrom(iotest.OneByteReader(bytes.NewReader(s)))
			return err
		}},
		{"ReadFrom halves", func(w *Writer, s []byte) error {
			_, err := w.ReadFrom(iotest.HalfReader(bytes.NewReader(s)))
			return err
		}},
		{"ReadFrom data with EOF", func(w *Writer, s []byte) error {
			_, err := w.ReadFrom(iotest.DataErrReader(bytes.NewReader(s)))
			return err
		}},
		{"ReadFrom in pieces", func(w *Writer, s []byte) error {
			// The stream split at odd places, one ReadFrom per piece, as a
			// caller copying entry by entry would.
			for len(s) > 0 {
				n := min(len(s), 70001)
				if _, err := w.ReadFrom(bytes.NewReader(s[:n])); err != nil {
					return err
				}
				s = s[n:]
			}
			return nil
		}},
	}
	var want []byte
	for _, m := range modes {
		s, w := newStoreWriter(t, "l")
		datas := map[string][]byte{}
		for i, size := range sizes {
			name := fmt.Sprintf("Files\\f%d", i)
			stream, data := fileStream(t, size, byte(i))
			datas[name] = data
			if err := w.Add(name, &backupstream.FileBasicInfo{FileAttributes: backupstream.AttrArchive}); err != nil {
				t.Fatal(err)
			}
			if err := m.feed(w, stream); err != nil {
				t.Fatalf("%s: %s (%d bytes): %v", m.name, name, size, err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatalf("%s: close: %v", m.name, err)
		}
		for i := range sizes {
			got, err := os.ReadFile(s.Dir("l") + fmt.Sprintf("/Files/f%d", i))
			if err != nil || !bytes.Equal(got, datas[fmt.Sprintf("Files\\f%d", i)]) {
				t.Fatalf("%s: file f%d: %d bytes on disk, want %d (%v)", m.name, i, len(got), sizes[i], err)
			}
		}
		got := exportAll(t, s, "l")
		if want == nil {
			want = got
		} else if !bytes.Equal(got, want) {
			t.Fatalf("%s: export differs from the layer built with Write", m.name)
		}
	}
}

// TestWriterReadFromSourceError: an error of the source comes back from
// ReadFrom as it is, mid-data.
func TestWriterReadFromSourceError(t *testing.T) {
	_, w := newStoreWriter(t, "l")
	defer w.Abort()
	stream, _ := fileStream(t, 2<<20, 1)
	if err := w.Add("Files\\big", &backupstream.FileBasicInfo{FileAttributes: backupstream.AttrArchive}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("source broke")
	r := io.MultiReader(bytes.NewReader(stream[:1<<20]), iotest.ErrReader(boom))
	if n, err := w.ReadFrom(r); !errors.Is(err, boom) || n != 1<<20 {
		t.Fatalf("ReadFrom: %d, %v; want %d, %v", n, err, 1<<20, boom)
	}
}
