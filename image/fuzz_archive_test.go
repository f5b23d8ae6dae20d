package image

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Fuzz targets of the image sources read from files: docker-archives and
// OCI layouts (see fuzz_test.go for the others).

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
