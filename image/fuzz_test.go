package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/winlayer/winlayer/layer"
)

// The fuzz targets of the image package's decoders of untrusted input:
// docker-archives, OCI layouts, compressed layer streams, the store's
// image index and locations (platforms: FuzzParsePlatform in
// platform_test.go). Their seeds (built below from the
// bundled sample and the images the tests build, plus the regression
// inputs under testdata/fuzz/) run in every plain go test.

// fuzzOutputCap bounds what a fuzz target reads from a decoder, so that a
// small compression bomb costs time bounded by the cap, not by its ratio.
const fuzzOutputCap = 8 << 20

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

// FuzzDecompress: decompress recognises gzip and zstd by their magic and
// passes anything else through unchanged; a stream it decodes to the end
// re-compresses (same format) to a stream that decodes to the same bytes;
// a cut stream decodes to an error or to a prefix of the whole output, and
// a one-frame stream cut short to an error wrapping layer.ErrTruncated;
// garbage gives an error, never a panic or a hang.
func FuzzDecompress(f *testing.F) {
	tars := testLayerTars(7, 2)
	for _, tb := range [][]byte{tars[0], []byte("plain"), {}, {0x1f}, {0x1f, 0x8b}, {0x28, 0xb5, 0x2f}} {
		f.Add(tb)
		f.Add(fuzzGzip(f, tb))
		f.Add(fuzzZstd(f, tb))
	}
	f.Add(fuzzGzip(f, tars[1])[:100])
	f.Add(fuzzZstd(f, tars[1])[:100])
	f.Add(append(fuzzGzip(f, []byte("one")), fuzzGzip(f, []byte("two"))...))
	f.Add(append(fuzzZstd(f, []byte("one")), fuzzZstd(f, []byte("two"))...))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, comp, err := fuzzDecode(data)
		switch {
		case bytes.HasPrefix(data, gzipMagic):
			if comp != CompressionGzip {
				t.Fatalf("gzip magic read as %q", comp)
			}
		case bytes.HasPrefix(data, zstdMagic):
			if comp != CompressionZstd {
				t.Fatalf("zstd magic read as %q", comp)
			}
		default:
			if comp != CompressionNone || err != nil || !bytes.Equal(out, data) {
				t.Fatalf("no magic: got %q, err %v, %d bytes for %d", comp, err, len(out), len(data))
			}
			return
		}
		if err != nil || len(out) >= fuzzOutputCap {
			return
		}
		// A whole stream: its content survives a round trip.
		var re []byte
		if comp == CompressionGzip {
			re = fuzzGzip(t, out)
		} else {
			re = fuzzZstd(t, out)
		}
		again, comp2, err := fuzzDecode(re)
		if err != nil || comp2 != comp || !bytes.Equal(again, out) {
			t.Fatalf("re-compressed %s: %q, err %v, equal %v", comp, comp2, err, bytes.Equal(again, out))
		}
		// Our one-frame stream cut short is a truncated stream, as
		// decompress promises.
		for _, n := range []int{4, len(re) / 2, len(re) - 1} { // 4: the magic only
			if n <= 0 || n >= len(re) {
				continue
			}
			if _, _, err := fuzzDecode(re[:n]); !errors.Is(err, layer.ErrTruncated) {
				t.Fatalf("%s stream of %d bytes cut at %d: %v, want layer.ErrTruncated", comp, len(re), n, err)
			}
		}
		// A cut stream never decodes to bytes the whole one does not have.
		cut := data[:len(data)/2]
		part, _, err := fuzzDecode(cut)
		if !bytes.HasPrefix(out, part) {
			t.Fatalf("%s cut at %d of %d decodes to %d bytes that are no prefix of the %d of the whole (err %v)", comp, len(cut), len(data), len(part), len(out), err)
		}
	})
}

// fuzzDecode decodes data with decompress, reading at most fuzzOutputCap
// bytes.
func fuzzDecode(data []byte) ([]byte, Compression, error) {
	r, comp, release, err := decompress(bufio.NewReader(bytes.NewReader(data)))
	if err != nil {
		if release != nil {
			release()
		}
		return nil, comp, err
	}
	defer release()
	out, err := io.ReadAll(io.LimitReader(r, fuzzOutputCap))
	return out, comp, err
}

func fuzzGzip(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func fuzzZstd(t testing.TB, b []byte) []byte {
	zw, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	defer zw.Close()
	return zw.EncodeAll(b, nil)
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

// FuzzOpenArchive: a docker-archive of arbitrary bytes opens (Open,
// Resolve) and loads (Store.Pull) or fails with an error, never a panic;
// every member the loader reads (configs, layer files, through links) is
// a section lying inside the file whose bytes are the file's; a failed
// load leaves no image in the store.
func FuzzOpenArchive(f *testing.F) {
	dir := f.TempDir()
	tars := testLayerTars(11, 2)
	for i, img := range []v1.Image{
		testImage(f, "windows", "amd64", "10.0.20348", tars, false),
		testImage(f, "windows", "amd64", "10.0.20348", tars[:1], true),
		testImage(f, "linux", "amd64", "", tars[1:], false),
	} {
		file := filepath.Join(dir, "seed.tar")
		writeArchive(f, file, img, "seed:"+string(rune('a'+i)))
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// Hostile archives: links out of the archive, link cycles, a member
	// whose header claims more than the file holds.
	manifest := `[{"Config":"c.json","RepoTags":["h:1"],"Layers":["l.tar"]}]`
	f.Add(fuzzTar(f, fuzzMember{name: "manifest.json", body: manifest}, fuzzMember{name: "c.json", link: "../../../../etc/passwd", typ: tar.TypeSymlink},
		fuzzMember{name: "l.tar", link: "/etc/passwd", typ: tar.TypeLink}))
	f.Add(fuzzTar(f, fuzzMember{name: "manifest.json", body: manifest}, fuzzMember{name: "c.json", link: "c.json", typ: tar.TypeSymlink},
		fuzzMember{name: "l.tar", link: "m/../l.tar", typ: tar.TypeLink}))
	f.Add(fuzzTar(f, fuzzMember{name: "manifest.json", link: "x", typ: tar.TypeSymlink}, fuzzMember{name: "x", link: "manifest.json", typ: tar.TypeSymlink}))
	f.Add(fuzzTar(f, fuzzMember{name: "manifest.json", body: manifest},
		fuzzMember{name: "c.json", body: `{"os":"windows","architecture":"amd64","rootfs":{"type":"layers","diff_ids":["sha256:` + strings.Repeat("0", 64) + `"]}}`},
		fuzzMember{name: "l.tar", body: "short", sparse: true}))
	f.Fuzz(func(t *testing.T, data []byte) {
		file := filepath.Join(t.TempDir(), "a.tar")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		loc := Location{Kind: KindDockerArchive, Path: file}
		if a, err := openArchiveFile(file); err == nil {
			for n := range a.members {
				fuzzCheckMember(t, a, n, data)
			}
			a.Close()
		}
		src, err := Open(context.Background(), loc, Config{})
		if err != nil {
			return
		}
		if len(src.Archive) == 0 {
			t.Fatalf("Open accepted an archive of no images")
		}
		if _, err := src.Resolve(Platform{}, false); err == nil && len(src.Archive) != 1 {
			t.Fatalf("Resolve chose one of %d archive images with no REF", len(src.Archive))
		}
		if a, err := openArchiveFile(file); err == nil {
			for _, ai := range src.Archive {
				fuzzCheckMember(t, a, ai.Entry.Config, data)
				for _, l := range ai.Entry.Layers {
					fuzzCheckMember(t, a, l, data)
				}
			}
			a.Close()
		}
		s := newTestStore(t)
		res, err := s.Pull(context.Background(), loc, Config{}, PullOptions{NoForeignURLs: true})
		imgs, ierr := s.Images()
		if ierr != nil {
			t.Fatal(ierr)
		}
		if err != nil && len(imgs) != len(res) {
			t.Fatalf("a failed load (%v) left %d images for %d results", err, len(imgs), len(res))
		}
		if len(res) > 0 {
			// The configs loaded are members of the archive.
			have := map[string]bool{}
			if a, err := openArchiveFile(file); err == nil {
				for n := range a.members {
					if r, err := a.open(n); err == nil {
						if h, _, err := v1.SHA256(r); err == nil {
							have[h.String()] = true
						}
					}
				}
				a.Close()
			}
			for _, r := range res {
				if !have[r.ConfigDigest] {
					t.Fatalf("loaded config %s is no member of the archive", r.ConfigDigest)
				}
			}
		}
	})
}

// fuzzCheckMember checks that member n of a, when it opens, is a section
// of the archive file lying inside it whose bytes are the file's.
func fuzzCheckMember(t *testing.T, a *archiveFile, n string, file []byte) {
	t.Helper()
	r, err := a.open(n)
	if err != nil {
		return
	}
	_, off, size := r.Outer()
	if off < 0 || size < 0 || off+size > int64(len(file)) {
		t.Fatalf("member %q is bytes %d to %d of a %d-byte archive", n, off, off+size, len(file))
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, file[off:off+size]) {
		t.Fatalf("member %q: %d bytes read (err %v), not the archive's", n, len(got), err)
	}
}

// fuzzMember is a tar member for fuzzTar.
type fuzzMember struct {
	name, body, link string
	typ              byte
	sparse           bool // claim a PAX sparse file of 1 TiB
}

func fuzzTar(t testing.TB, ms ...fuzzMember) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range ms {
		h := &tar.Header{Name: m.name, Linkname: m.link, Typeflag: m.typ, Mode: 0o644, Size: int64(len(m.body)), Format: tar.FormatPAX}
		if m.typ == 0 {
			h.Typeflag = tar.TypeReg
		} else {
			h.Size = 0
		}
		if m.sparse {
			// GNU sparse format 0.1: the map in a PAX header before the
			// member (archive/tar writes none: a regular member whose type
			// is patched to 'x'), the data (the one region) as its body.
			var recs string
			for _, kv := range [][2]string{{"GNU.sparse.size", "1099511627776"}, {"GNU.sparse.numblocks", "1"}, {"GNU.sparse.map", fmt.Sprintf("0,%d", len(m.body))}} {
				rec := " " + kv[0] + "=" + kv[1] + "\n"
				n := len(rec) + 2
				if len(fmt.Sprint(n)+rec) != n {
					n++
				}
				recs += fmt.Sprint(n) + rec
			}
			if err := tw.Flush(); err != nil {
				t.Fatal(err)
			}
			at := buf.Len()
			if err := tw.WriteHeader(&tar.Header{Name: "pax", Typeflag: tar.TypeReg, Size: int64(len(recs)), Format: tar.FormatUSTAR}); err != nil {
				t.Fatal(err)
			}
			if _, err := tw.Write([]byte(recs)); err != nil {
				t.Fatal(err)
			}
			if err := tw.Flush(); err != nil {
				t.Fatal(err)
			}
			hb := buf.Bytes()[at : at+512]
			hb[156] = tar.TypeXHeader
			copy(hb[148:156], "        ")
			sum := 0
			for _, c := range hb {
				sum += int(c)
			}
			copy(hb[148:156], fmt.Sprintf("%06o\x00 ", sum))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(m.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// fuzzLayoutPull is how FuzzOpenLayout loads: the platform given (the
// sample holds two Windows versions), never a foreign URL.
var fuzzLayoutPull = PullOptions{Platform: Platform{OSVersion: "10.0.20348"}, Explicit: true, NoForeignURLs: true}

// FuzzOpenLayout: an OCI layout whose oci-layout, index.json and two
// blobs are arbitrary bytes (in index.json and the first blob, @A@ and
// @B@ stand for the digests of the blobs, which lie beside the sample's
// blobs) opens, resolves and loads or fails with an error, never a panic;
// what Open returns is consistent (a TAG names it, its descriptor is its
// digest); a failed load leaves no image in the store.
func FuzzOpenLayout(f *testing.F) {
	layoutFile, err := os.ReadFile(filepath.Join(sampleLayout, "oci-layout"))
	if err != nil {
		f.Fatal(err)
	}
	index, err := os.ReadFile(filepath.Join(sampleLayout, "index.json"))
	if err != nil {
		f.Fatal(err)
	}
	sampleBlobs := map[string][]byte{}
	ents, err := os.ReadDir(filepath.Join(sampleLayout, "blobs", "sha256"))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(sampleLayout, "blobs", "sha256", e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		sampleBlobs[e.Name()] = b
	}
	f.Add(layoutFile, index, []byte{}, []byte{}, "")
	f.Add(layoutFile, index, []byte{}, []byte{}, "latest")
	f.Add(layoutFile, index, []byte{}, []byte{}, "nope")
	// A layout of a test image: its manifest (A) and config (B).
	img := testOCIImage(f, "10.0.20348", testLayerTars(3, 1), false)
	m, err := img.RawManifest()
	if err != nil {
		f.Fatal(err)
	}
	c, err := img.RawConfigFile()
	if err != nil {
		f.Fatal(err)
	}
	cd, err := img.ConfigName()
	if err != nil {
		f.Fatal(err)
	}
	m = bytes.ReplaceAll(m, []byte(cd.String()), []byte("@B@"))
	ls, err := img.Layers()
	if err != nil {
		f.Fatal(err)
	}
	for _, l := range ls {
		d, err := l.Digest()
		if err != nil {
			f.Fatal(err)
		}
		rc, err := l.Compressed()
		if err != nil {
			f.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			f.Fatal(err)
		}
		sampleBlobs[d.Hex] = b
	}
	ix := fmt.Sprintf(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":%d,"digest":"@A@","annotations":{"%s":"t"}}]}`, len(m)-3+len(cd.String()), refNameAnnotation)
	f.Add(layoutFile, []byte(ix), m, c, "")
	f.Add(layoutFile, []byte(ix), m, c, "t")
	f.Add([]byte(`{"imageLayoutVersion":"2.0.0"}`), []byte(ix), m, c, "")
	f.Add(layoutFile, []byte(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","size":1,"digest":"@A@"}]}`), []byte(`{"manifests":[{"digest":"@A@"}]}`), []byte{}, "")
	f.Fuzz(func(t *testing.T, ociLayout, indexJSON, blobA, blobB []byte, tag string) {
		dir := t.TempDir()
		blobs := filepath.Join(dir, "blobs", "sha256")
		if err := os.MkdirAll(blobs, 0o755); err != nil {
			t.Fatal(err)
		}
		for n, b := range sampleBlobs {
			if err := os.WriteFile(filepath.Join(blobs, n), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		put := func(b []byte) string {
			sum := sha256.Sum256(b)
			h := hex.EncodeToString(sum[:])
			if err := os.WriteFile(filepath.Join(blobs, h), b, 0o644); err != nil {
				t.Fatal(err)
			}
			return "sha256:" + h
		}
		db := put(blobB)
		blobA = bytes.ReplaceAll(blobA, []byte("@B@"), []byte(db))
		da := put(blobA)
		indexJSON = bytes.ReplaceAll(bytes.ReplaceAll(indexJSON, []byte("@A@"), []byte(da)), []byte("@B@"), []byte(db))
		if err := os.WriteFile(filepath.Join(dir, "oci-layout"), ociLayout, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "index.json"), indexJSON, 0o644); err != nil {
			t.Fatal(err)
		}
		loc := Location{Kind: KindOCI, Path: dir, Tag: tag}
		src, err := Open(context.Background(), loc, Config{})
		if err != nil {
			if !strings.Contains(err.Error(), loc.String()) {
				t.Fatalf("Open error %q does not name the location", err)
			}
			return
		}
		if (src.Index == nil) == (src.Image == nil) {
			t.Fatalf("Open set Index %v and Image %v: want exactly one", src.Index != nil, src.Image != nil)
		}
		if tag != "" && src.Name != tag {
			t.Fatalf("Open of TAG %q named the image %q", tag, src.Name)
		}
		if src.Index != nil {
			if d, err := src.Index.Digest(); err == nil && d != src.Descriptor.Digest {
				t.Fatalf("index digest %s, descriptor %s", d, src.Descriptor.Digest)
			}
		}
		if res, err := src.Resolve(Platform{}, false); err == nil {
			_, _ = res.Image.ConfigFile()
			_, _ = res.Image.Layers()
		}
		s := newTestStore(t)
		res, err := s.Pull(context.Background(), loc, Config{}, fuzzLayoutPull)
		imgs, ierr := s.Images()
		if ierr != nil {
			t.Fatal(ierr)
		}
		if err != nil && len(imgs) != len(res) {
			t.Fatalf("a failed load (%v) left %d images", err, len(imgs))
		}
		if err == nil {
			// What was loaded came from the layout's blobs.
			have := map[string]bool{da: true, db: true}
			for n := range sampleBlobs {
				have["sha256:"+n] = true
			}
			for _, r := range res {
				if !have[r.ManifestDigest] || !have[r.ConfigDigest] || (r.IndexDigest != "" && !have[r.IndexDigest]) {
					t.Fatalf("loaded manifest %s, config %s, index %q: not all blobs of the layout", r.ManifestDigest, r.ConfigDigest, r.IndexDigest)
				}
				for i, l := range r.Layers {
					if !have[l.Digest] && !IsForeign(types.MediaType(l.MediaType)) {
						t.Fatalf("loaded layer %d %s: no blob of the layout", i, l.Digest)
					}
				}
			}
		}
	})
}

// TestFuzzSeedsLoad checks that the main seeds of FuzzOpenArchive and
// FuzzOpenLayout are whole images that load, so that the fuzzers start
// from inputs that reach the end of a load, not only its first checks.
func TestFuzzSeedsLoad(t *testing.T) {
	tars := testLayerTars(11, 2)
	file := filepath.Join(t.TempDir(), "a.tar")
	writeArchive(t, file, testImage(t, "windows", "amd64", "10.0.20348", tars, false), "seed:a")
	dir := filepath.Join(t.TempDir(), "layout")
	writeLayout(t, dir, testOCIImage(t, "10.0.20348", testLayerTars(3, 1), false), "t")
	for _, loc := range []Location{{Kind: KindDockerArchive, Path: file}, {Kind: KindOCI, Path: dir, Tag: "t"}, {Kind: KindOCI, Path: sampleLayout}} {
		res, err := newTestStore(t).Pull(context.Background(), loc, Config{}, fuzzLayoutPull)
		if err != nil || len(res) != 1 {
			t.Errorf("load %s: %d images, %v", loc, len(res), err)
		}
	}
}
