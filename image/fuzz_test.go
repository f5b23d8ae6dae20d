package image

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/winlayer/winlayer/layer"
)

// The fuzz targets of the image package's decoders of untrusted input:
// docker-archives, OCI layouts, the store's image index and locations
// (platforms: FuzzParsePlatform in platform_test.go; compressed layer
// streams: FuzzDecompress in internal/decompress). Their seeds (built
// below from the bundled sample and the images the tests build, plus the
// regression inputs under testdata/fuzz/) run in every plain go test.

// sampleLayout is the repository's sample OCI layout (testdata/image).
const sampleLayout = "../testdata/image"

// FuzzParseLocation: ParseLocation never panics, its errors wrap
// ErrBadLocation, and an accepted location formats back (String) to text
// that parses to the same location.
func FuzzParseLocation(f *testing.F) {
	for _, s := range []string{
		"alpine", "docker://alpine:3", "localhost:5000/x/y:tag", "127.0.0.1:5000/r@sha256:" + strings.Repeat("a", 64),
		"mcr.microsoft.com/windows/nanoserver:ltsc2022", "oci:dir", "oci:dir:tag", "oci:", "oci::tag",
		"docker-archive:f.tar", "docker-archive:f.tar:repo:tag", "docker-archive:f.tar:@1", "oci-archive:x",
		"dir:x", "containers-storage:x", "UPPER/case", "a@sha256:bad", "", "docker://", "host:port/x",
		"oci:" + sampleLayout, "oci:" + sampleLayout + ":latest",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		loc, err := ParseLocation(s)
		if err != nil {
			if !errors.Is(err, ErrBadLocation) {
				t.Fatalf("ParseLocation(%q): error %v does not wrap ErrBadLocation", s, err)
			}
			return
		}
		text := loc.String()
		back, err := ParseLocation(text)
		if err != nil {
			t.Fatalf("ParseLocation(%q) = %q, which does not parse: %v", s, text, err)
		}
		if back.Kind != loc.Kind || back.Path != loc.Path || back.Tag != loc.Tag || back.String() != text {
			t.Fatalf("ParseLocation(%q) = %#v (%q); that text parses to %#v (%q)", s, loc, text, back, back.String())
		}
		switch loc.Kind {
		case KindRegistry:
			if loc.Ref == nil || back.Ref == nil || loc.Ref.Name() != back.Ref.Name() {
				t.Fatalf("ParseLocation(%q): reference %v, after String %v", s, loc.Ref, back.Ref)
			}
		case KindOCI, KindDockerArchive:
			if loc.Path == "" || loc.Ref != nil {
				t.Fatalf("ParseLocation(%q) = %#v: a path location needs a path and no reference", s, loc)
			}
		default:
			t.Fatalf("ParseLocation(%q): kind %v", s, loc.Kind)
		}
	})
}

// FuzzStoreIndex: the store's image index (.images/index.json) read back
// from arbitrary bytes either fails wrapping layer.ErrCorrupt or gives
// images that Images, Lookup (by every reference and digest), UsersOf
// and Tag handle without panicking; reading never changes the file, and
// an index that reads writes back to one that reads the same.
func FuzzStoreIndex(f *testing.F) {
	d1, d2 := "sha256:"+strings.Repeat("ab", 32), "sha256:"+strings.Repeat("cd", 32)
	good := indexFile{Version: formatV, Refs: map[string]string{"index.docker.io/library/x:1": d1, "localhost:5000/y:2": d2},
		Images: map[string]*Record{
			d1: {ManifestDigest: d1, ConfigDigest: d2, Source: "oci:x", Layers: []LayerRecord{{ID: strings.Repeat("1", 64), DiffID: d2}}},
			d2: {ManifestDigest: d2, Source: "docker-archive:y"},
		}}
	b, err := json.Marshal(good)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{string(b), `{"version":1}`, `{"version":2}`, `{}`, `null`, `[]`, ``, `{"version":1,"images":{"x":null}}`,
		`{"version":1,"refs":{"a":"sha256:none"}}`, `{"version":1,"refs":null,"images":null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &Store{home: t.TempDir()}
		if err := os.MkdirAll(filepath.Join(s.home, imagesDir), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(s.indexPath(), data, 0o644); err != nil {
			t.Fatal(err)
		}
		ix, err := s.read()
		if err != nil {
			if !errors.Is(err, layer.ErrCorrupt) {
				t.Fatalf("read: %v does not wrap layer.ErrCorrupt", err)
			}
			for _, op := range []func() error{
				func() error { _, err := s.Images(); return err },
				func() error { _, err := s.Lookup("x"); return err },
				func() error { _, err := s.UsersOf("x"); return err },
				func() error { return s.Tag("x", "y") },
			} {
				if err := op(); !errors.Is(err, layer.ErrCorrupt) {
					t.Fatalf("an unreadable index: %v, want layer.ErrCorrupt", err)
				}
			}
			fuzzSameFile(t, s.indexPath(), data)
			return
		}
		imgs, err := s.Images()
		if err != nil || len(imgs) != len(ix.Images) {
			t.Fatalf("Images: %d images, err %v; the index has %d", len(imgs), err, len(ix.Images))
		}
		for ref := range ix.Refs {
			if _, err := s.Lookup(ref); err != nil && !errors.Is(err, ErrNoImage) && !errors.Is(err, ErrAmbiguousName) {
				t.Fatalf("Lookup(%q): %v", ref, err)
			}
		}
		for d, r := range ix.Images {
			info, err := s.Lookup(d)
			if err != nil && !errors.Is(err, ErrAmbiguousName) {
				t.Fatalf("Lookup(%q), a key of the index: %v", d, err)
			}
			if err == nil && info.Record.ManifestDigest != r.ManifestDigest {
				t.Fatalf("Lookup(%q) = record of %q", d, info.Record.ManifestDigest)
			}
			for _, l := range r.Layers {
				if _, err := s.UsersOf(l.ID); err != nil {
					t.Fatalf("UsersOf(%q): %v", l.ID, err)
				}
			}
		}
		fuzzSameFile(t, s.indexPath(), data)
		// Written back, the index reads the same.
		if err := s.write(ix); err != nil {
			t.Fatal(err)
		}
		ix2, err := s.read()
		if err != nil {
			t.Fatalf("the index as written back does not read: %v", err)
		}
		b1, _ := json.Marshal(ix)
		b2, _ := json.Marshal(ix2)
		if !bytes.Equal(b1, b2) {
			t.Fatalf("the index changed through write and read:\n%s\n%s", b1, b2)
		}
	})
}

func fuzzSameFile(t *testing.T, p string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(p)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("reading the index changed %s (err %v)", p, err)
	}
}
