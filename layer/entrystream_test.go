package layer

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/winlayer/winlayer/backupstream"
)

// rawStreamHeader builds a WIN32_STREAM_ID header by hand, for headers
// backupstream.Writer refuses to write.
func rawStreamHeader(id uint32, size uint64, nameSize uint32) []byte {
	b := make([]byte, backupstream.HeaderSize)
	binary.LittleEndian.PutUint32(b[0:], id)
	binary.LittleEndian.PutUint64(b[8:], size)
	binary.LittleEndian.PutUint32(b[16:], nameSize)
	return b
}

// TestWriterCorruptStream writes backup streams the decoder refuses, or
// that end inside a record, to a Writer: the error wraps ErrInvalidEntry
// and the decoder's own kind, names the entry, and the store is left
// as it was.
func TestWriterCorruptStream(t *testing.T) {
	data := append(rawStreamHeader(1, 4, 0), "abcd"...)
	tests := []struct {
		name   string
		stream []byte
		kind   error // besides ErrInvalidEntry
	}{
		{"odd name size", append(rawStreamHeader(4, 0, 3), "abc"...), backupstream.ErrCorrupt},
		{"size beyond int64", rawStreamHeader(1, 1<<63, 0), backupstream.ErrCorrupt},
		{"name over the limit", rawStreamHeader(4, 0, backupstream.MaxNameBytes+2), backupstream.ErrTooLarge},
		{"sparse block under 8 bytes", append(append([]byte(nil), data...), rawStreamHeader(9, 7, 0)...), backupstream.ErrCorrupt},
		{"record over 2^62 bytes", rawStreamHeader(1, 1<<62+1, 0), ErrInvalidEntry},
		{"ends inside a header", append(append([]byte(nil), data...), rawStreamHeader(3, 1, 0)[:7]...), io.ErrUnexpectedEOF},
		{"ends inside a payload", data[:22], io.ErrUnexpectedEOF},
		{"ends inside a name", append(rawStreamHeader(4, 0, 4), 'a'), io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, w := newStoreWriter(t, "l")
			if err := w.Add(`Files`, &backupstream.FileBasicInfo{FileAttributes: backupstream.AttrDirectory}); err != nil {
				t.Fatal(err)
			}
			if err := w.Add(`Files\a.txt`, &backupstream.FileBasicInfo{FileAttributes: backupstream.AttrArchive}); err != nil {
				t.Fatal(err)
			}
			_, err := w.Write(tc.stream)
			if err == nil {
				err = w.Close() // the stream ends with the entry
			} else if cerr := w.Close(); cerr == nil {
				t.Fatal("Close after a failed Write succeeded")
			}
			if !errors.Is(err, ErrInvalidEntry) || !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), `"Files/a.txt"`) {
				t.Fatalf("error %v, want ErrInvalidEntry and %v naming Files/a.txt", err, tc.kind)
			}
			if s.Exists("l") {
				t.Error("the layer exists")
			}
			if left, _ := os.ReadDir(filepath.Join(s.Home(), stagingDir)); len(left) != 0 {
				t.Errorf("%d staging entries left", len(left))
			}
		})
	}
}
