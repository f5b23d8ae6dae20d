package layer

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// indexWriter writes a layer's Windows metadata as the Writer goes: the
// index (one Entry per line), the table of distinct security descriptors
// and the numbering of alternate data stream files under ads/.
type indexWriter struct {
	dir     string // the layer's metadata directory (.winlayer)
	f       *os.File
	buf     *bufio.Writer
	enc     *json.Encoder
	sdIndex map[string]int // base64 of a descriptor → its 1-based number
	sdList  []string
	entries int
	ads     int // the last alternate data stream file number
}

// newIndexWriter creates the metadata directory dir with its ads/ and
// starts the index in it.
func newIndexWriter(dir string) (*indexWriter, error) {
	if err := os.MkdirAll(filepath.Join(dir, adsDir), 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(dir, indexFile))
	if err != nil {
		return nil, err
	}
	x := &indexWriter{dir: dir, f: f, buf: bufio.NewWriterSize(f, 256<<10), sdIndex: map[string]int{}}
	x.enc = json.NewEncoder(x.buf)
	x.enc.SetEscapeHTML(false)
	return x, nil
}

// add appends e to the index.
func (x *indexWriter) add(e *Entry) error {
	if err := x.enc.Encode(e); err != nil {
		return err
	}
	x.entries++
	return nil
}

// sd returns the 1-based number of the security descriptor b, adding it
// to the table when it is new.
func (x *indexWriter) sd(b []byte) int {
	key := base64.StdEncoding.EncodeToString(b)
	n, ok := x.sdIndex[key]
	if !ok {
		x.sdList = append(x.sdList, key)
		n = len(x.sdList)
		x.sdIndex[key] = n
	}
	return n
}

// createADS creates the file of the next alternate data stream and
// returns it with its number.
func (x *indexWriter) createADS() (*os.File, int, error) {
	x.ads++
	f, err := os.OpenFile(filepath.Join(x.dir, adsDir, fmt.Sprint(x.ads)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, 0, err
	}
	return f, x.ads, nil
}

// flush writes out the index entries buffered so far, so that the index
// file can be read up to the last entry added.
func (x *indexWriter) flush() error {
	if x.f == nil {
		return os.ErrClosed
	}
	return x.buf.Flush()
}

// close finishes the index and writes the security descriptor table.
func (x *indexWriter) close() error {
	if err := x.buf.Flush(); err != nil {
		return err
	}
	err := x.f.Close()
	x.f = nil
	if err != nil {
		return err
	}
	sds := []byte("[]")
	if x.sdList != nil {
		sds, _ = json.Marshal(x.sdList)
	}
	return os.WriteFile(filepath.Join(x.dir, sdFile), sds, 0o644)
}

// abort closes the index file, if still open, without finishing it.
func (x *indexWriter) abort() {
	if x.f != nil {
		x.f.Close()
		x.f = nil
	}
}
