package layer

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vbatts/tar-split/tar/storage"

	"github.com/winlayer/winlayer/layer/layertest"
)

// checkStore makes a store with "base" (the sample layer: streams, a BCD
// file, links, a whiteout, an opaque directory, a hive) and "top" (the
// mixed layer) on it.
func checkStore(t *testing.T) *Store {
	t.Helper()
	in, err := os.ReadFile(filepath.Join(testdata, "sample.rebuilt.tar"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(context.Background(), "base", nil, bytes.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(context.Background(), "top", []string{s.Dir("base")}, bytes.NewReader(layertest.Mixed())); err != nil {
		t.Fatal(err)
	}
	return s
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// flipByte changes one byte of a file in place (same size).
func flipByte(t *testing.T, p string, off int64) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	mustDo(t, err)
	defer f.Close()
	b := make([]byte, 1)
	_, err = f.ReadAt(b, off)
	mustDo(t, err)
	b[0] ^= 0x20
	_, err = f.WriteAt(b, off)
	mustDo(t, err)
}

// TestCheck damages a store in one way per case and checks that Check
// reports exactly the damaged entries (with the problem's wording), and
// that an undamaged store passes, with and without --fast.
func TestCheck(t *testing.T) {
	type want struct {
		entry, text string
	}
	cases := []struct {
		name   string
		layer  string
		fast   bool
		damage func(t *testing.T, s *Store)
		want   []want // nil: the layer is good
	}{
		{name: "clean", layer: "base"},
		{name: "clean fast", layer: "top", fast: true},
		{name: "clean top", layer: "top"},
		{name: "bytes appended", layer: "base",
			damage: func(t *testing.T, s *Store) {
				f, err := os.OpenFile(filepath.Join(s.Dir("base"), "Files/plain-ustar.txt"), os.O_WRONLY|os.O_APPEND, 0)
				mustDo(t, err)
				_, err = f.WriteString("more")
				mustDo(t, err)
				mustDo(t, f.Close())
			},
			want: []want{{"Files/plain-ustar.txt", "16 bytes on disk, longer than the recorded 12"}}},
		{name: "file truncated", layer: "base",
			damage: func(t *testing.T, s *Store) {
				mustDo(t, os.Truncate(filepath.Join(s.Dir("base"), "Hives/System_Delta"), 10))
			},
			want: []want{{"Hives/System_Delta", "10 bytes on disk, shorter than the recorded 32"}}},
		{name: "file deleted", layer: "top",
			damage: func(t *testing.T, s *Store) {
				mustDo(t, os.Remove(filepath.Join(s.Dir("top"), "Files/dir/f07.bin")))
			},
			want: []want{{"Files/dir/f07.bin", "missing: the index has a file"}}},
		{name: "sd.json deleted", layer: "base",
			damage: func(t *testing.T, s *Store) {
				mustDo(t, os.Remove(filepath.Join(s.Dir("base"), metaDir, sdFile)))
			},
			want: []want{{".winlayer/sd.json", "missing"}}},
		{name: "stream file deleted", layer: "base",
			damage: func(t *testing.T, s *Store) {
				mustDo(t, os.Remove(filepath.Join(s.Dir("base"), metaDir, adsDir, "1")))
			},
			want: []want{{"Files/hello.txt:Zone.Identifier", "stream file .winlayer/ads/1 is missing"}}},
		{name: "BCD backup deleted", layer: "base",
			damage: func(t *testing.T, s *Store) {
				mustDo(t, os.Remove(filepath.Join(s.Dir("base"), "bcd.bak")))
			},
			want: []want{{"UtilityVM/Files/EFI/Microsoft/Boot/BCD", "BCD backup bcd.bak is missing"}}},
		{name: "extra file", layer: "top",
			damage: func(t *testing.T, s *Store) {
				mustDo(t, os.WriteFile(filepath.Join(s.Dir("top"), "Files/dir/new.txt"), []byte("x"), 0o644))
			},
			want: []want{{"Files/dir/new.txt", "extra: a regular file on disk that the index does not name"}}},
		{name: "extra stream file", layer: "top",
			damage: func(t *testing.T, s *Store) {
				mustDo(t, os.WriteFile(filepath.Join(s.Dir("top"), metaDir, adsDir, "99"), []byte("x"), 0o644))
			},
			want: []want{{".winlayer/ads/99", "extra: a stream file no entry refers to"}}},
		{name: "file replaced by a directory", layer: "base",
			damage: func(t *testing.T, s *Store) {
				p := filepath.Join(s.Dir("base"), "Files/empty.txt")
				mustDo(t, os.Remove(p))
				mustDo(t, os.Mkdir(p, 0o755))
			},
			want: []want{{"Files/empty.txt", "wrong type: a directory on disk, the index has a file"}}},
		{name: "directory replaced by a symlink", layer: "top",
			damage: func(t *testing.T, s *Store) {
				p := filepath.Join(s.Dir("top"), "Files/dir")
				mustDo(t, os.RemoveAll(p))
				mustDo(t, os.Symlink(t.TempDir(), p))
			},
			want: []want{{"Files/dir", "wrong type: a symlink on disk, the index has a dir"}}},
		{name: "parent removed", layer: "top",
			damage: func(t *testing.T, s *Store) {
				broken, err := s.RemoveForce(context.Background(), "base")
				mustDo(t, err)
				if !slices.Equal(broken, []string{"top"}) {
					t.Fatalf("RemoveForce broke %v", broken)
				}
			},
			want: []want{{"layerchain.json", "parent base is missing"}}},
		{name: "record byte flipped", layer: "base",
			damage: func(t *testing.T, s *Store) { flipRecordHeader(t, s.Dir("base")) },
			want:   []want{{"", "DiffID: the reassembled tar"}}},
		{name: "record byte flipped fast", layer: "base", fast: true,
			// --fast does not re-hash: a change the payload CRCs cannot see passes.
			damage: func(t *testing.T, s *Store) { flipRecordHeader(t, s.Dir("base")) }},
		{name: "content byte flipped fast", layer: "top", fast: true,
			damage: func(t *testing.T, s *Store) { flipByte(t, filepath.Join(s.Dir("top"), "Files/big.bin"), 2<<20) },
			want:   []want{{"Files/big.bin", "content changed since the import: CRC-32C"}}},
		{name: "content byte flipped", layer: "base",
			damage: func(t *testing.T, s *Store) {
				flipByte(t, filepath.Join(s.Dir("base"), "Files/dir/admins-only.txt"), 3)
			},
			want: []want{{"Files/dir/admins-only.txt", "content changed since the import: CRC-32C"}}},
		{name: "stream content flipped", layer: "top",
			damage: func(t *testing.T, s *Store) {
				flipByte(t, filepath.Join(s.Dir("top"), metaDir, adsDir, "1"), 100)
			},
			want: []want{{"Files/big.bin:stream", "content changed since the import"}}},
		{name: "record deleted", layer: "top",
			damage: func(t *testing.T, s *Store) {
				mustDo(t, os.Remove(filepath.Join(s.Dir("top"), metaDir, tarSplitFile)))
			},
			want: []want{{".winlayer/tar-split.bin.gz", "missing"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := checkStore(t)
			if tc.damage != nil {
				tc.damage(t, s)
			}
			ro, err := OpenReadOnly(s.Home())
			mustDo(t, err)
			r, err := ro.Check(context.Background(), tc.layer, CheckOptions{Fast: tc.fast})
			if err != nil {
				t.Fatalf("check: %v", err)
			}
			t.Logf("%+v", r)
			if len(tc.want) == 0 {
				if !r.OK() || r.Status != CheckOK {
					t.Fatalf("a good layer reported %s: %+v", r.Status, r.Problems)
				}
				return
			}
			if r.OK() || r.Status != CheckBad {
				t.Fatalf("damage not found: status %s", r.Status)
			}
			for _, w := range tc.want {
				if !slices.ContainsFunc(r.Problems, func(p Problem) bool {
					return p.Entry == w.entry && strings.Contains(p.Problem, w.text)
				}) {
					t.Errorf("no problem {%q, %q...} in %+v", w.entry, w.text, r.Problems)
				}
			}
			for _, p := range r.Problems {
				if !slices.ContainsFunc(tc.want, func(w want) bool { return w.entry == p.Entry }) {
					t.Errorf("unexpected problem %+v", p)
				}
			}
		})
	}
}

// flipRecordHeader changes a byte of a tar header in the tar-split record
// (a change no payload CRC covers: only the DiffID catches it).
func flipRecordHeader(t *testing.T, dir string) {
	t.Helper()
	rewriteRecord(t, dir, func(es []storage.Entry) []storage.Entry {
		for i := range es {
			if es[i].Type == storage.SegmentType && len(es[i].Payload) >= 512 {
				es[i].Payload = bytes.Clone(es[i].Payload)
				es[i].Payload[0] ^= 1
				break
			}
		}
		return es
	})
}

// TestCheckSkips: a layer built through a Writer (no tar-split record)
// and one changed through a writable view (dirty) are checked as far as
// they can be, and the report says what was skipped; a missing layer is
// ErrNotExist; Check writes nothing.
func TestCheckSkips(t *testing.T) {
	s := checkStore(t)
	w, err := s.NewWriter(context.Background(), "made", []string{s.Dir("top")})
	mustDo(t, err)
	mustDo(t, w.Close())
	mustDo(t, s.Create(context.Background(), "view", nil))
	mustDo(t, os.WriteFile(filepath.Join(s.Dir("top"), metaDir, dirtyFile), nil, 0o644)) // as a writable view marks it
	// A sandbox layer as the driver makes it: Files links onto the
	// sandbox's file system.
	mustDo(t, s.Create(context.Background(), "sandbox", nil))
	sb := s.Dir("sandbox")
	mustDo(t, os.RemoveAll(filepath.Join(sb, "Files")))
	mustDo(t, os.MkdirAll(filepath.Join(sb, filepath.FromSlash(SandboxFilesLink)), 0o755))
	mustDo(t, os.WriteFile(filepath.Join(sb, filepath.FromSlash(SandboxFilesLink), "new.txt"), []byte("x"), 0o644))
	mustDo(t, os.Symlink(SandboxFilesLink, filepath.Join(sb, "Files")))
	ro, err := OpenReadOnly(s.Home())
	mustDo(t, err)
	for id, skip := range map[string]string{
		"made":    "no tar-split record",
		"view":    "written through a view",
		"sandbox": "Files is on the layer's sandbox",
		"top":     "written through a view",
	} {
		r, err := ro.Check(context.Background(), id, CheckOptions{})
		if err != nil || !r.OK() {
			t.Fatalf("%s: %v %+v", id, err, r)
		}
		if !slices.ContainsFunc(r.Skipped, func(s string) bool { return strings.Contains(s, skip) }) {
			t.Errorf("%s: skipped %q, want %q", id, r.Skipped, skip)
		}
	}
	// A dirty layer still has its hives checked against the index.
	mustDo(t, os.Truncate(filepath.Join(s.Dir("top"), "Hives/System_Delta"), 1))
	r, err := ro.Check(context.Background(), "top", CheckOptions{})
	if err != nil || r.OK() || r.Problems[0].Entry != "Hives/System_Delta" {
		t.Errorf("dirty layer with a truncated hive: %v %+v", err, r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ro.Check(ctx, "base", CheckOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("check with a cancelled context: %v", err)
	}
	if _, err := ro.Check(context.Background(), "nope", CheckOptions{}); !errors.Is(err, ErrNotExist) {
		t.Errorf("check of a missing layer: %v, want ErrNotExist", err)
	}
	ids, err := ro.LayerIDs(context.Background())
	if err != nil || !slices.Equal(ids, []string{"base", "made", "sandbox", "top", "view"}) {
		t.Errorf("LayerIDs: %v %v", ids, err)
	}
}
