package nocache

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// pattern returns n deterministic pseudo-random bytes.
func pattern(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	r.Read(b)
	return b
}

func TestWriterContent(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name   string
		prefix int   // bytes already in the file; the Writer starts after them
		sizes  []int // the writes, in order
	}{
		{"empty", 0, nil},
		{"one byte", 0, []int{1}},
		{"exactly one chunk", 0, []int{chunk}},
		{"odd writes over many chunks", 0, []int{1, chunk - 2, 3, 5 << 20, 7 << 20, 1 << 20, 33 << 20, 4095, 4097}},
		{"after unaligned prefix", 12345, []int{chunk, chunk + 1, 9 << 20, 17}},
		{"writes larger than the window", 0, []int{(behind + 2) * chunk, 3}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			prefix := pattern(tt.prefix, uint64(i)+100)
			if err := os.WriteFile(path, prefix, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.Seek(0, io.SeekEnd); err != nil {
				t.Fatal(err)
			}
			w := NewWriter(f)
			if runtime.GOOS == "linux" && !w.on {
				t.Fatal("chunked writeback is off for a regular file")
			}
			want := sha256.New()
			want.Write(prefix)
			total := int64(tt.prefix)
			for j, n := range tt.sizes {
				p := pattern(n, uint64(i*100+j))
				if got, err := w.Write(p); err != nil || got != n {
					t.Fatalf("write %d of %d bytes: %d, %v", j, n, got, err)
				}
				want.Write(p)
				total += int64(n)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(got)) != total || sha256.Sum256(got) != [32]byte(want.Sum(nil)) {
				t.Fatalf("file has %d bytes (want %d) or different content", len(got), total)
			}
		})
	}
}

func TestWriterReadFrom(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src := pattern(3*chunk+11, 7)
	w := NewWriter(f)
	// A reader without WriteTo, so that io.Copy uses w.ReadFrom.
	n, err := io.Copy(w, struct{ io.Reader }{bytes.NewReader(src)})
	if err != nil || n != int64(len(src)) {
		t.Fatalf("copy: %d, %v", n, err)
	}
	if runtime.GOOS == "linux" && w.begun != 3*chunk {
		t.Errorf("writeback started for %d bytes, want %d", w.begun, 3*chunk)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, src) {
		t.Fatalf("read back: %d bytes, %v", len(got), err)
	}
}

func TestWriterPipe(t *testing.T) {
	r, wf, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	src := pattern(chunk+5, 3)
	done := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(r)
		done <- b
	}()
	w := NewWriter(wf)
	if w.on {
		t.Error("chunked writeback is on for a pipe")
	}
	if _, err := w.Write(src); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	wf.Close()
	if got := <-done; !bytes.Equal(got, src) {
		t.Fatalf("pipe carried %d bytes, want %d", len(got), len(src))
	}
}

func TestWriterErrorIsSticky(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ro")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path) // read-only: every write fails
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := NewWriter(f)
	_, err1 := w.Write([]byte("x"))
	if err1 == nil {
		t.Fatal("write to a read-only file succeeded")
	}
	if _, err2 := w.Write([]byte("y")); !errors.Is(err2, err1) {
		t.Errorf("second write: %v, want the first error %v", err2, err1)
	}
	if err := w.Close(); !errors.Is(err, err1) {
		t.Errorf("Close: %v, want the first error %v", err, err1)
	}
}

func TestCopy(t *testing.T) {
	src := pattern(2*chunk+333, 9)
	path := filepath.Join(t.TempDir(), "f")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	for _, w := range []io.Writer{f, &buf} {
		n, err := Copy(w, bytes.NewReader(src))
		if err != nil || n != int64(len(src)) {
			t.Fatalf("Copy to %T: %d, %v", w, n, err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, src) || !bytes.Equal(buf.Bytes(), src) {
		t.Fatalf("copies differ from the source (file %d bytes, %v; buffer %d bytes)", len(got), err, buf.Len())
	}
}
