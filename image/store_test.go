package image

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/winlayer/winlayer/internal/flock"
	"github.com/winlayer/winlayer/layer"
	"github.com/winlayer/winlayer/layer/layertest"
)

// TestStoreRemoveShared: two images sharing a base; removing one keeps the
// shared layers and the other's blobs, removing the other removes all;
// a hand-made layer on top of an image layer keeps that layer (Kept).
func TestStoreRemoveShared(t *testing.T) {
	host := testRegistry(t)
	base := testLayerTars(41, 2)
	a := testImage(t, "windows", "amd64", "10.0.20348.1", base, false)
	b := testImage(t, "windows", "amd64", "10.0.20348.1", append(slices.Clone(base), testLayerTars(42, 3)[2]), false)
	refA := pushTest(t, host, "shared/a:1", a)
	refB := pushTest(t, host, "shared/b:1", b)
	s := newTestStore(t)
	ra := pullOne(t, s, refA.String(), PullOptions{})
	rb := pullOne(t, s, refB.String(), PullOptions{})
	if rb.Skipped != 2 || rb.Fetched != 1 {
		t.Fatalf("second image: fetched %d skipped %d, want the 2 shared layers skipped", rb.Fetched, rb.Skipped)
	}
	if users, _ := s.UsersOf(ra.Layers[0].ID); len(users) != 2 {
		t.Errorf("UsersOf(shared base) = %v", users)
	}
	res, err := s.Remove(refB.String())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Layers, []string{rb.Layers[2].ID}) || len(res.Deleted) != 1 {
		t.Errorf("rm b: %+v, want only b's own layer removed", res)
	}
	for _, l := range ra.Layers {
		if !s.layers.Exists(l.ID) || !s.hasBlob(mustHash(l.Digest)) {
			t.Errorf("a's layer %s or its blob went with b", l.ID)
		}
	}
	if s.hasBlob(mustHash(rb.ManifestDigest)) || s.hasBlob(mustHash(rb.Layers[2].Digest)) {
		t.Errorf("b's manifest or layer blob kept after rm")
	}
	// A layer made by hand on a's top keeps it.
	top := ra.Layers[1].ID
	if _, err := s.layers.Import(context.Background(), "mine", []string{s.layers.Dir(top)}, bytes.NewReader(layertest.Tar(layertest.Dir("Files")))); err != nil {
		t.Fatal(err)
	}
	res, err = s.Remove(ra.ManifestDigest)
	if err != nil {
		t.Fatal(err)
	}
	kept := slices.Sorted(slices.Values(res.Kept))
	if !slices.Equal(kept, slices.Sorted(slices.Values([]string{top, ra.Layers[0].ID}))) || len(res.Layers) != 0 {
		t.Errorf("rm a under a hand-made layer: %+v, want its top kept and its base kept (needed by the top)", res)
	}
	if imgs, _ := s.Images(); len(imgs) != 0 {
		t.Errorf("%d images left", len(imgs))
	}
	if _, err := s.Remove(refA.String()); !errors.Is(err, ErrNoImage) {
		t.Errorf("rm of a gone image: %v, want ErrNoImage", err)
	}
}

// TestStoreNames: tags, digest prefixes, ambiguity, bad references.
func TestStoreNames(t *testing.T) {
	host := testRegistry(t)
	img := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(43, 1), false)
	ref := pushTest(t, host, "names/app:1", img)
	s := newTestStore(t)
	r := pullOne(t, s, ref.String(), PullOptions{})
	hexd := mustHash(r.ManifestDigest).Hex
	for _, n := range []string{ref.String(), r.ManifestDigest, hexd[:12], "sha256:" + hexd[:16], host + "/names/app@" + r.ManifestDigest} {
		if got, err := s.Lookup(n); err != nil || got.ManifestDigest != r.ManifestDigest {
			t.Errorf("Lookup(%q): %v", n, err)
		}
	}
	for _, n := range []string{hexd[:11], "names/app:1", host + "/names/app:2"} {
		if _, err := s.Lookup(n); !errors.Is(err, ErrNoImage) {
			t.Errorf("Lookup(%q): %v, want ErrNoImage", n, err)
		}
	}
	if err := s.Tag(ref.String(), "example.com/x:2"); err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(ref.String(), "bad ref"); !errors.Is(err, ErrBadReference) {
		t.Errorf("Tag with a space: %v", err)
	}
	if err := s.Tag(ref.String(), "Example.com/UPPER:x"); !errors.Is(err, ErrBadReference) {
		t.Errorf("Tag with upper case repository: %v", err)
	}
	// A digest reference must name the image's own manifest: one naming
	// another digest made Lookup of that digest give this image.
	other := "example.com/x@sha256:" + strings.Repeat("1", 64)
	if err := s.Tag(ref.String(), other); !errors.Is(err, ErrBadReference) || !strings.Contains(err.Error(), "must end @"+r.ManifestDigest) {
		t.Errorf("Tag with another manifest's digest: %v", err)
	}
	if _, err := s.Lookup(other); !errors.Is(err, ErrNoImage) {
		t.Errorf("Lookup of a refused digest reference: %v", err)
	}
	if err := s.Tag(ref.String(), "example.com/mirror@"+r.ManifestDigest); err != nil {
		t.Errorf("Tag with the image's own digest: %v", err)
	}
	// A bare name finds what docker would complete it to.
	if err := s.Tag(ref.String(), "index.docker.io/library/alpine:latest"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"alpine", "alpine:latest", "docker.io/library/alpine"} {
		if got, err := s.Lookup(n); err != nil || got.ManifestDigest != r.ManifestDigest {
			t.Errorf("Lookup(%q): %v", n, err)
		}
	}
	// rm of the bare name drops only that reference.
	if res, err := s.Remove("alpine"); err != nil || len(res.Deleted) != 0 || !slices.Equal(res.Untagged, []string{"index.docker.io/library/alpine:latest"}) {
		t.Errorf("rm alpine: %+v, %v", res, err)
	}
	got, _ := s.Lookup("example.com/x:2")
	if got == nil || !slices.Contains(got.References, "example.com/x:2") {
		t.Errorf("tag not listed: %+v", got)
	}
}

// TestStoreConcurrentRecords: pulls of different images at once into one
// store keep every record (the index is read-modified-written under its
// lock).
func TestStoreConcurrentRecords(t *testing.T) {
	host := testRegistry(t)
	const n = 6
	var refs []string
	for i := range n {
		img := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(uint64(50+i), 1), false)
		refs = append(refs, pushTest(t, host, "many/app:"+string(rune('a'+i)), img).String())
	}
	home := t.TempDir()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ls, err := layer.Open(home)
			if err == nil {
				err = pullErr(OpenStore(ls), refs[i], Config{})
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("pull %d: %v", i, err)
		}
	}
	ls, _ := layer.Open(home)
	imgs, err := OpenStore(ls).Images()
	if err != nil || len(imgs) != n {
		t.Fatalf("%d images after %d concurrent pulls (%v)", len(imgs), n, err)
	}
	// No temporary index file is left.
	des, _ := os.ReadDir(filepath.Join(home, imagesDir))
	for _, de := range des {
		if de.Name() != indexName && de.Name() != lockName && de.Name() != pullsName {
			t.Errorf("left in .images: %s", de.Name())
		}
	}
}

// TestStoreCorruptIndex: a damaged index.json is reported as corruption,
// not taken for an empty store.
func TestStoreCorruptIndex(t *testing.T) {
	s := newTestStore(t)
	os.MkdirAll(filepath.Join(s.home, imagesDir), 0o755)
	os.WriteFile(s.indexPath(), []byte("{not json"), 0o644)
	if _, err := s.Images(); !errors.Is(err, layer.ErrCorrupt) {
		t.Errorf("Images on a corrupt index: %v, want ErrCorrupt", err)
	}
}

// TestStoreCollectDuringPull: while a pull runs, a removal drops the image
// record but leaves its layers (the pull may be about to use them) and
// says so; once no pull runs, Collect removes them. The layers of a pull
// that failed before its record are not the collection's to take.
func TestStoreCollectDuringPull(t *testing.T) {
	host := testRegistry(t)
	img := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(44, 2), false)
	ref := pushTest(t, host, "lease/app:1", img)
	s := newTestStore(t)
	r := pullOne(t, s, ref.String(), PullOptions{})
	release, err := s.pullLease() // a pull in progress
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Remove(ref.String())
	if err != nil {
		t.Fatal(err)
	}
	if !res.Deferred || len(res.Layers) != 0 || len(res.Deleted) != 1 {
		t.Fatalf("rm during a pull: %+v, want the record dropped and the layers deferred", res)
	}
	for _, l := range r.Layers {
		if !s.layers.Exists(l.ID) {
			t.Errorf("layer %s removed while a pull ran", l.ID)
		}
	}
	release()
	// A layer imported by hand is never collected.
	if _, err := s.layers.Import(context.Background(), "mine", nil, bytes.NewReader(layertest.Tar(layertest.Dir("Files")))); err != nil {
		t.Fatal(err)
	}
	res, err = s.Collect()
	if err != nil {
		t.Fatal(err)
	}
	if res.Deferred || len(res.Layers) != 2 {
		t.Fatalf("collect after the pull: %+v, want both image layers removed", res)
	}
	if !s.layers.Exists("mine") {
		t.Error("Collect removed a layer imported by hand")
	}
	for _, l := range r.Layers {
		if s.layers.Exists(l.ID) || s.hasBlob(mustHash(l.Digest)) {
			t.Errorf("layer %s or its blob left after Collect", l.ID)
		}
	}
}

// TestStoreLockSymlink: a symlink in place of one of the index's lock
// files (lock, pulls.lock) is refused, never followed: Collect fails
// naming it, and the symlink's target is neither created nor changed.
func TestStoreLockSymlink(t *testing.T) {
	for _, name := range []string{lockName, pullsName} {
		t.Run(name, func(t *testing.T) {
			s := newTestStore(t)
			outside := t.TempDir()
			existing := filepath.Join(outside, "existing")
			if err := os.WriteFile(existing, []byte("keep"), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, target := range []string{filepath.Join(outside, "nowhere"), existing} {
				link := filepath.Join(s.home, imagesDir, name)
				os.Remove(link)
				if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(target, link); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Collect(); !errors.Is(err, flock.ErrSymlink) {
					t.Errorf("Collect with %s a symlink to %s: %v, want flock.ErrSymlink", name, filepath.Base(target), err)
				}
			}
			if _, err := os.Lstat(filepath.Join(outside, "nowhere")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the dangling symlink's target was created: %v", err)
			}
			if b, _ := os.ReadFile(existing); string(b) != "keep" {
				t.Errorf("the symlink's target changed: %q", b)
			}
		})
	}
}
