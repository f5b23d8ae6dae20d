package layer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/winlayer/winlayer/backupstream"
	lt "github.com/winlayer/winlayer/layer/layertest"
	"github.com/winlayer/winlayer/wintar"
)

// rawHeader is a ustar header block (GNU magic when gnu is true).
func rawHeader(name string, typ byte, size int64, gnu bool) []byte {
	b := make([]byte, 512)
	copy(b[0:100], name)
	copy(b[100:], "0000644\x00")
	copy(b[108:], "0000000\x00")
	copy(b[116:], "0000000\x00")
	copy(b[124:], fmt.Sprintf("%011o\x00", size))
	copy(b[136:], fmt.Sprintf("%011o\x00", 1683000000))
	b[156] = typ
	if gnu {
		copy(b[257:], "ustar  \x00")
	} else {
		copy(b[257:], "ustar\x0000")
	}
	return b
}

// sealHeader writes the checksum of a header block.
func sealHeader(b []byte) []byte {
	copy(b[148:156], "        ")
	sum := 0
	for _, c := range b {
		sum += int(c)
	}
	copy(b[148:], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

func padBlock(b []byte) []byte { return append(b, make([]byte, (512-len(b)%512)%512)...) }

// paxData encodes PAX records in the given order (key, value, key, value...).
func paxData(kv ...string) []byte {
	var out []byte
	for i := 0; i < len(kv); i += 2 {
		rec := " " + kv[i] + "=" + kv[i+1] + "\n"
		n := len(rec) + 1
		for len(strconv.Itoa(n))+len(rec) != n {
			n++
		}
		out = append(out, strconv.Itoa(n)+rec...)
	}
	return out
}

// paxEntry is a PAX extended header with the records, then a regular
// file header of name with content as its (physical) data.
func paxEntry(name string, content []byte, kv ...string) []byte {
	recs := paxData(append([]string{"MSWINDOWS.fileattr", "32", "MSWINDOWS.rawsd", lt.SD}, kv...)...)
	out := sealHeader(rawHeader("PaxHeaders.0/x", 'x', int64(len(recs)), false))
	out = append(out, padBlock(recs)...)
	out = append(out, sealHeader(rawHeader(name, '0', int64(len(content)), false))...)
	return append(out, padBlock(content)...)
}

// layerTar is a layer tar holding the Files directory, then body, then the
// end-of-archive marker.
func layerTar(body []byte) []byte {
	start := lt.Tar(lt.Dir("Files"))
	out := append([]byte(nil), start[:len(start)-1024]...)
	out = append(out, body...)
	return append(out, make([]byte, 1024)...)
}

// sparseTars are the sparse forms of Files/sparse.bin: 512 bytes of data
// at offset 0 of a file of real size bytes.
func sparseTars(size int64) map[string][]byte {
	data := bytes.Repeat([]byte("sparse!\n"), 64)
	rs := strconv.FormatInt(size, 10)
	const name = "Files/sparse.bin"
	m := map[string][]byte{}
	m["PAX 1.0"] = layerTar(paxEntry("Files/GNUSparseFile.0/sparse.bin",
		append(padBlock([]byte("1\n0\n512\n")), data...),
		"GNU.sparse.major", "1", "GNU.sparse.minor", "0", "GNU.sparse.name", name, "GNU.sparse.realsize", rs))
	m["PAX 0.1"] = layerTar(paxEntry(name, data,
		"GNU.sparse.size", rs, "GNU.sparse.numblocks", "1", "GNU.sparse.map", "0,512"))
	m["PAX 0.0"] = layerTar(paxEntry(name, data,
		"GNU.sparse.size", rs, "GNU.sparse.numblocks", "1", "GNU.sparse.offset", "0", "GNU.sparse.numbytes", "512"))
	m["PAX 0.1 on a stream"] = layerTar(append(paxEntry(name, []byte("x")), paxEntry(name+":s", data,
		"GNU.sparse.size", rs, "GNU.sparse.numblocks", "1", "GNU.sparse.map", "0,512")...))
	// Old GNU: the sparse map (offset, length) at 386, the real size at 483.
	h := rawHeader(name, 'S', int64(len(data)), true)
	copy(h[386:], fmt.Sprintf("%011o\x00%011o\x00", 0, len(data)))
	copy(h[483:], fmt.Sprintf("%011o\x00", size))
	m["GNU S"] = layerTar(append(sealHeader(h), data...))
	return m
}

// TestImportRefusesSparse: every form of sparse tar entry is refused
// before anything is written, with an error naming the entry and what
// makes it sparse; the store stays as it was. (Imported, such an entry
// exported as a different tar, and a real size near 2^62 wrote zeros
// until the disk was full.)
func TestImportRefusesSparse(t *testing.T) {
	for _, size := range []int64{1 << 20, 1 << 62} {
		tars := sparseTars(size)
		for _, form := range slices.Sorted(func(yield func(string) bool) {
			for k := range tars {
				if !yield(k) {
					return
				}
			}
		}) {
			t.Run(fmt.Sprintf("%s/%d", form, size), func(t *testing.T) {
				home := t.TempDir()
				s, err := Open(home)
				if err != nil {
					t.Fatal(err)
				}
				before := snapshot(t, home)
				_, err = s.Import(context.Background(), "sparse", nil, bytes.NewReader(tars[form]))
				t.Logf("%v", err)
				if !errors.Is(err, wintar.ErrSparse) {
					t.Fatalf("import: %v, want ErrSparse", err)
				}
				want := "GNU.sparse."
				if form == "GNU S" {
					want = "type flag 'S'"
				}
				for _, w := range []string{"Files/sparse.bin", want, "import sparse"} {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error does not name %q: %v", w, err)
					}
				}
				if s.Exists("sparse") {
					t.Error("the refused layer exists")
				}
				if after := snapshot(t, home); !slices.Equal(before, after) {
					t.Errorf("store changed:\nbefore %q\nafter  %q", before, after)
				}
			})
		}
	}
}

// TestWriterBoundsClaims: a backup stream that claims more data than the
// store's file system has free fails at its header, naming the entry and
// the size (before, a 2^62-byte claim went on until the disk was full);
// a sparse block past the file system's largest file fails at once too.
func TestWriterBoundsClaims(t *testing.T) {
	header := func(h backupstream.Header) []byte {
		var b bytes.Buffer
		bw := backupstream.NewWriter(&b)
		if err := bw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	huge := int64(1) << 62
	if free := freeBytes(t.TempDir()); free < 0 || free >= huge {
		t.Skipf("free space unknown (%d)", free)
	}
	cases := []struct {
		name   string
		attr   uint32
		stream []byte
		want   string
	}{
		{"data", 0, header(backupstream.Header{ID: backupstream.StreamData, Size: huge}), "4611686018427387904 bytes"},
		{"ads", 0, append(header(backupstream.Header{ID: backupstream.StreamData}),
			header(backupstream.Header{ID: backupstream.StreamAlternateData, Name: ":s:$DATA", Size: huge})...), ":s:$DATA"},
		{"sparse block", backupstream.AttrSparse, append(header(backupstream.Header{ID: backupstream.StreamData, Attributes: backupstream.AttrSparse}),
			header(backupstream.Header{ID: backupstream.StreamSparseBlock, Size: huge - 8})...), "4611686018427387896 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, w := newStoreWriter(t, "big")
			defer w.Abort()
			info := &backupstream.FileBasicInfo{FileAttributes: backupstream.AttrArchive}
			if tc.attr != 0 {
				info.FileAttributes |= backupstream.AttrSparseFile
			}
			if err := w.Add(`Files\big.bin`, info); err != nil {
				t.Fatal(err)
			}
			_, err := w.Write(tc.stream)
			t.Logf("%v", err)
			if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "Files/big.bin") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("write of a %d-byte claim: %v, want ENOSPC naming the entry and %q", huge, err, tc.want)
			}
			w.Abort()
			left, _ := os.ReadDir(filepath.Join(s.Home(), stagingDir))
			if len(left) != 0 || s.Exists("big") {
				t.Errorf("debris: %d staging directories, layer exists %v", len(left), s.Exists("big"))
			}
		})
	}
	t.Run("sparse past the largest file", func(t *testing.T) {
		_, w := newStoreWriter(t, "far")
		defer w.Abort()
		info := &backupstream.FileBasicInfo{FileAttributes: backupstream.AttrArchive | backupstream.AttrSparseFile}
		if err := w.Add(`Files\far.bin`, info); err != nil {
			t.Fatal(err)
		}
		far := int64(1) << 50 // past ext4's 16 TiB
		stream := append(header(backupstream.Header{ID: backupstream.StreamData, Attributes: backupstream.AttrSparse}),
			header(backupstream.Header{ID: backupstream.StreamSparseBlock, Size: 1, Offset: far})...)
		_, err := w.Write(stream)
		t.Logf("%v", err)
		if err == nil {
			if err = w.Close(); err == nil {
				t.Skip("this file system holds a sparse file of 1 PiB")
			}
		}
		if !errors.Is(err, syscall.EFBIG) || !strings.Contains(err.Error(), "Files/far.bin") {
			t.Fatalf("sparse block at 1 PiB: %v, want EFBIG naming the entry", err)
		}
	})
}

// TestImportSizeClaim: a tar whose header claims more than the file
// system can hold (10 KB of tar, 2^62 bytes claimed) is refused at that
// entry, with ENOSPC naming it and the size; nothing is left behind.
func TestImportSizeClaim(t *testing.T) {
	home := t.TempDir()
	if free := freeBytes(home); free < 0 || free >= 1<<62 {
		t.Skipf("free space unknown (%d)", free)
	}
	s, err := Open(home)
	if err != nil {
		t.Fatal(err)
	}
	// A PAX size record may claim any size; the data that follows is short.
	in := layerTar(paxEntry("Files/huge.bin", bytes.Repeat([]byte("x"), 10000), "size", strconv.FormatInt(1<<62, 10)))
	before := snapshot(t, home)
	_, err = s.Import(context.Background(), "huge", nil, bytes.NewReader(in))
	t.Logf("%v", err)
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "Files/huge.bin") || !strings.Contains(err.Error(), "4611686018427387904 bytes") {
		t.Fatalf("import: %v, want ENOSPC naming the entry and its size", err)
	}
	if after := snapshot(t, home); !slices.Equal(before, after) {
		t.Errorf("store changed:\nbefore %q\nafter  %q", before, after)
	}
}
