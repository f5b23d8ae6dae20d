package image

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/winlayer/winlayer/internal/registrytest"
)

// digestOf is the manifest digest of an image or index.
func manifestDigest(t testing.TB, a Artifact) v1.Hash {
	t.Helper()
	d, err := a.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// checkImage reads every layer of img and checks its compressed digest
// and DiffID, and that the config's digest is the manifest's.
func checkImage(t testing.TB, img v1.Image) error {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		return err
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	if h, _, _ := v1.SHA256(bytes.NewReader(raw)); h != m.Config.Digest {
		return fmt.Errorf("config %s, manifest says %s", h, m.Config.Digest)
	}
	ls, err := img.Layers()
	if err != nil {
		return err
	}
	for i, l := range ls {
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		h, n, err := v1.SHA256(rc)
		rc.Close()
		if err != nil {
			return err
		}
		if h != m.Layers[i].Digest || n != m.Layers[i].Size {
			return fmt.Errorf("layer %d: %s (%d bytes), manifest says %s (%d)", i, h, n, m.Layers[i].Digest, m.Layers[i].Size)
		}
		rc, err = l.Uncompressed()
		if err != nil {
			return err
		}
		h, _, err = v1.SHA256(rc)
		rc.Close()
		if err != nil {
			return err
		}
		if want, _ := l.DiffID(); h != want {
			return fmt.Errorf("layer %d: DiffID %s, want %s", i, h, want)
		}
	}
	return nil
}

// checkIndex checks every image of idx with checkImage.
func checkIndex(t testing.TB, idx v1.ImageIndex) error {
	t.Helper()
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, d := range im.Manifests {
		if d.MediaType.IsIndex() {
			c, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return err
			}
			if err := checkIndex(t, c); err != nil {
				return err
			}
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return err
		}
		if err := checkImage(t, img); err != nil {
			return fmt.Errorf("image %s: %w", d.Digest, err)
		}
	}
	return nil
}

// regLoc is the location repo on r.
func regLoc(t testing.TB, r *registrytest.Registry, repo string) Location {
	t.Helper()
	return Location{Kind: KindRegistry, Ref: r.Ref(t, repo)}
}

// regCfg is a Config with r's credentials.
func regCfg(r *registrytest.Registry) Config {
	return Config{Keychain: r.Keychain()}
}

// appendForeign appends a foreign layer of media type mt (with urls) to img.
func appendForeign(t testing.TB, img v1.Image, mt types.MediaType, url string) (v1.Image, v1.Layer) {
	t.Helper()
	l, err := random.Layer(2000, mt)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.Append(img, mutate.Addendum{Layer: l, MediaType: mt, URLs: []string{url}})
	if err != nil {
		t.Fatal(err)
	}
	return img, l
}

// requestLog counts the requests a registry receives, by kind.
type requestLog struct {
	mu     sync.Mutex
	counts map[string]int
	// put are the digests of completed blob uploads.
	put []string
}

func (l *requestLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := r.Method + " other"
		switch {
		case strings.Contains(r.URL.Path, "/blobs/uploads/") && r.Method == http.MethodPost && r.URL.Query().Get("mount") != "":
			kind = "mount"
		case strings.Contains(r.URL.Path, "/blobs/uploads/") && r.Method == http.MethodPost:
			kind = "upload start"
		case strings.Contains(r.URL.Path, "/blobs/uploads/"):
			kind = "upload data"
		case strings.Contains(r.URL.Path, "/blobs/") && r.Method == http.MethodHead:
			kind = "blob head"
		case strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodPut:
			kind = "manifest put"
		}
		l.mu.Lock()
		if d := r.URL.Query().Get("digest"); d != "" && r.Method == http.MethodPut {
			l.put = append(l.put, d)
		}
		if l.counts == nil {
			l.counts = map[string]int{}
		}
		l.counts[kind]++
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (l *requestLog) take() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.counts
	l.counts = nil
	return c
}

// uploaded says whether a blob upload of d completed, and forgets them all.
func (l *requestLog) uploaded(d string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range l.put {
		if p == d {
			return true
		}
	}
	return false
}

func (l *requestLog) reset() {
	l.mu.Lock()
	l.put = nil
	l.counts = nil
	l.mu.Unlock()
}

func TestWriteRegistryKeepsDigestAndSkipsExisting(t *testing.T) {
	for _, kind := range []string{"distribution", "inprocess"} {
		t.Run(kind, func(t *testing.T) {
			var log requestLog
			var r *registrytest.Registry
			if kind == "distribution" {
				r = registrytest.Distribution(t).Proxy(t, log.wrap)
			} else {
				r = registrytest.InProcess(t, log.wrap)
			}
			ctx := context.Background()
			img := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(1, 3), false)
			want := manifestDigest(t, img)

			res, err := Write(ctx, regLoc(t, r, "a/app:1"), img, regCfg(r), WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Digest != want.String() || res.SourceDigest != want.String() {
				t.Errorf("result digest %s (source %s), want %s", res.Digest, res.SourceDigest, want)
			}
			for _, b := range res.Blobs {
				if b.Action != ActionCopied {
					t.Errorf("first push: blob %s %s, want %s", b.Digest, b.Action, ActionCopied)
				}
			}
			for _, b := range res.Blobs {
				if !log.uploaded(b.Digest) {
					t.Errorf("first push: layer %s not uploaded", b.Digest)
				}
			}
			log.reset()

			// Copy it to another repository from the registry itself:
			// same manifest digest, no blob bytes sent again.
			src, err := remote.Image(r.Ref(t, "a/app:1"), remote.WithAuthFromKeychain(r.Keychain()))
			if err != nil {
				t.Fatal(err)
			}
			repo := r.Ref(t, "a/app:1").Context()
			res, err = Write(ctx, regLoc(t, r, "b/other:2"), src, regCfg(r), WriteOptions{MountFrom: &repo})
			if err != nil {
				t.Fatal(err)
			}
			if res.Digest != want.String() {
				t.Errorf("second push digest %s, want %s", res.Digest, want)
			}
			c := log.take()
			for _, b := range res.Blobs {
				if log.uploaded(b.Digest) {
					t.Errorf("second push uploaded layer %s again", b.Digest)
				}
			}
			if kind == "distribution" && c["mount"] < 3 {
				t.Errorf("second push to another repository of the same registry: requests %v, want 3 mounts", c)
			}
			for _, b := range res.Blobs {
				if b.Action != ActionPresent {
					t.Errorf("second push: blob %s %s, want %s", b.Digest, b.Action, ActionPresent)
				}
			}
			got, err := remote.Image(r.Ref(t, "b/other:2"), remote.WithAuthFromKeychain(r.Keychain()))
			if err != nil {
				t.Fatal(err)
			}
			if d := manifestDigest(t, got); d != want {
				t.Errorf("pulled back %s, want %s", d, want)
			}
			if err := checkImage(t, got); err != nil {
				t.Errorf("pulled back image: %v", err)
			}
		})
	}
}

func TestWriteRegistryIndex(t *testing.T) {
	r := registrytest.InProcess(t)
	idx := testIndex(t,
		testImage(t, "windows", "amd64", "10.0.17763.1", testLayerTars(2, 2), false),
		testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(3, 2), true))
	res, err := Write(context.Background(), regLoc(t, r, "idx:1"), idx, regCfg(r), WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := manifestDigest(t, idx); res.Digest != want.String() {
		t.Errorf("digest %s, want %s", res.Digest, want)
	}
	if len(res.Blobs) != 4 {
		t.Errorf("%d blobs, want 4", len(res.Blobs))
	}
	got, err := remote.Index(r.Ref(t, "idx:1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := checkIndex(t, got); err != nil {
		t.Error(err)
	}
}

func TestWriteLayoutSeveralImages(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "layout")
	one := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(4, 2), false)
	two := testImage(t, "windows", "amd64", "10.0.20348.2", testLayerTars(5, 2), true)
	three := testImage(t, "windows", "amd64", "10.0.20348.3", testLayerTars(6, 1), false)
	idx := testIndex(t, one, two)
	for _, step := range []struct {
		tag string
		a   Artifact
	}{{"one", one}, {"two", two}, {"idx", idx}, {"one", three}, {"", two}} {
		res, err := Write(ctx, Location{Kind: KindOCI, Path: dir, Tag: step.tag}, step.a, Config{}, WriteOptions{})
		if err != nil {
			t.Fatalf("write %q: %v", step.tag, err)
		}
		if res.Digest != manifestDigest(t, step.a).String() {
			t.Errorf("write %q: digest %s, want %s", step.tag, res.Digest, manifestDigest(t, step.a))
		}
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	ii, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := ii.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	// "one" was replaced by three, "two" and "idx" kept, one unnamed entry.
	want := map[string]v1.Hash{"one": manifestDigest(t, three), "two": manifestDigest(t, two), "idx": manifestDigest(t, idx), "": manifestDigest(t, two)}
	if len(im.Manifests) != len(want) {
		t.Fatalf("index.json has %d entries, want %d: %+v", len(im.Manifests), len(want), im.Manifests)
	}
	for _, d := range im.Manifests {
		tag := d.Annotations[refNameAnnotation]
		if d.Digest != want[tag] {
			t.Errorf("entry %q: %s, want %s", tag, d.Digest, want[tag])
		}
		if d.MediaType.IsImage() && (d.Platform == nil || d.Platform.OS != "windows" || d.Platform.OSVersion == "") {
			t.Errorf("entry %q: platform %+v, want the config's", tag, d.Platform)
		}
	}
	if err := checkIndex(t, ii); err != nil {
		t.Errorf("layout: %v", err)
	}
	// No temporary files are left.
	tmps, _ := filepath.Glob(filepath.Join(dir, "blobs", "sha256", ".tmp-*"))
	if len(tmps) > 0 {
		t.Errorf("temporary files left: %v", tmps)
	}
}

func TestWriteLayoutRefusesOtherDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	img := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(7, 1), false)
	_, err := Write(context.Background(), Location{Kind: KindOCI, Path: dir}, img, Config{}, WriteOptions{})
	if !errors.Is(err, ErrNotLayout) {
		t.Fatalf("got %v, want ErrNotLayout", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("the directory changed: %d entries", len(ents))
	}
}

func TestWriteArchive(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "images.tar")
	one := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(8, 2), false)
	two := testImage(t, "windows", "amd64", "10.0.20348.2", testLayerTars(9, 3), false)
	res, err := WriteArchive(ctx, path, []NamedImage{{Name: "example.com/one:1", Image: one}, {Name: "two:2", Image: two}}, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Blobs) != 5 {
		t.Errorf("%d blobs, want 5", len(res.Blobs))
	}
	for _, tc := range []struct {
		tag  string
		want v1.Image
	}{{"example.com/one:1", one}, {"two:2", two}} {
		tag, err := name.NewTag(tc.tag)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tarball.ImageFromPath(path, &tag)
		if err != nil {
			t.Fatalf("%s: %v", tc.tag, err)
		}
		// A docker-archive keeps the config and the layer blobs, so the
		// manifest made from it is the original one (same media types).
		gc, _ := got.ConfigName()
		wc, _ := tc.want.ConfigName()
		if gc != wc {
			t.Errorf("%s: config %s, want %s", tc.tag, gc, wc)
		}
		gl, _ := got.Layers()
		wl, _ := tc.want.Layers()
		if len(gl) != len(wl) {
			t.Fatalf("%s: %d layers, want %d", tc.tag, len(gl), len(wl))
		}
		for i := range gl {
			gd, _ := gl[i].Digest()
			wd, _ := wl[i].Digest()
			if gd != wd {
				t.Errorf("%s: layer %d %s, want %s", tc.tag, i, gd, wd)
			}
		}
		if err := checkImage(t, got); err != nil {
			t.Errorf("%s: %v", tc.tag, err)
		}
	}
	// WriteArchiveEach: one result per image, each with its own layers.
	each, err := WriteArchiveEach(ctx, path, []NamedImage{{Name: "example.com/one:1", Image: one}, {Name: "two:2", Image: two}}, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		img   v1.Image
		dest  string
		blobs int
	}{{one, "docker-archive:" + path + ":example.com/one:1", 2}, {two, "docker-archive:" + path + ":two:2", 3}} {
		want, _ := tc.img.Digest()
		if len(each) != 2 || each[i].Digest != want.String() || each[i].Destination != tc.dest || len(each[i].Blobs) != tc.blobs {
			t.Fatalf("WriteArchiveEach image %d: %+v, want digest %s, destination %s, %d blobs", i, each[i], want, tc.dest, tc.blobs)
		}
	}
	// An index cannot go into an archive.
	_, err = Write(ctx, Location{Kind: KindDockerArchive, Path: path + "2"}, testIndex(t, one), Config{}, WriteOptions{})
	if !errors.Is(err, ErrIndexToArchive) {
		t.Errorf("index to archive: got %v, want ErrIndexToArchive", err)
	}
	if _, err := os.Stat(path + "2"); !os.IsNotExist(err) {
		t.Errorf("refused archive exists: %v", err)
	}
}

func TestWriteArchiveForeignLayerSources(t *testing.T) {
	img := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(10, 1), false)
	img, fl := appendForeign(t, img, types.DockerForeignLayer, "http://127.0.0.1:1/base.tar.gz")
	path := filepath.Join(t.TempDir(), "f.tar")
	if _, err := WriteArchive(context.Background(), path, []NamedImage{{Name: "f:1", Image: img}}, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(path) })
	if err != nil {
		t.Fatal(err)
	}
	diffID, _ := fl.DiffID()
	src, ok := m[0].LayerSources[diffID]
	if !ok {
		t.Fatalf("LayerSources %v has no entry for the foreign layer %s", m[0].LayerSources, diffID)
	}
	if d, _ := fl.Digest(); src.Digest != d || src.MediaType != types.DockerForeignLayer || len(src.URLs) != 1 {
		t.Errorf("LayerSources entry %+v", src)
	}
	// Loading it back gives the original manifest (foreign descriptor and
	// urls included).
	tag, _ := name.NewTag("f:1")
	got, err := tarball.ImageFromPath(path, &tag)
	if err != nil {
		t.Fatal(err)
	}
	gm, _ := got.RawManifest()
	wm, _ := img.RawManifest()
	var a, b any
	_ = json.Unmarshal(gm, &a)
	_ = json.Unmarshal(wm, &b)
	ga, _ := json.Marshal(a)
	wb, _ := json.Marshal(b)
	if !bytes.Equal(ga, wb) {
		t.Errorf("manifest from the archive:\n%s\nwant\n%s", gm, wm)
	}
}

// TestWriteArchiveUntagged: an image without a name goes into the archive
// with no RepoTags and reads back.
func TestWriteArchiveUntagged(t *testing.T) {
	img := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(11, 1), false)
	path := filepath.Join(t.TempDir(), "u.tar")
	if _, err := Write(context.Background(), Location{Kind: KindDockerArchive, Path: path}, img, Config{}, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(path) })
	if err != nil || len(m) != 1 || len(m[0].RepoTags) != 0 {
		t.Fatalf("manifest.json %+v (%v), want one untagged image", m, err)
	}
	src, err := Open(context.Background(), Location{Kind: KindDockerArchive, Path: path}, Config{})
	if err != nil || src.Image == nil {
		t.Fatalf("open: %v", err)
	}
	if d := manifestDigest(t, src.Image); d != manifestDigest(t, img) {
		t.Errorf("read back %s, want %s", d, manifestDigest(t, img))
	}
}
