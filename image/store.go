package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/winlayer/winlayer/internal/atomicfile"
	"github.com/winlayer/winlayer/internal/flock"
	"github.com/winlayer/winlayer/layer"
)

// Errors of the image index, for callers to test with errors.Is.
var (
	// ErrNoImage is returned for a name that no image of the store has.
	ErrNoImage = errors.New("no such image in the store")
	// ErrAmbiguousName is returned for a digest prefix that several images
	// share.
	ErrAmbiguousName = errors.New("the name matches several images")
	// ErrBadReference is returned for a new reference (image tag) that is no
	// valid image reference.
	ErrBadReference = errors.New("not a valid image reference")
)

// Where the image index lives in a layer store directory. Both names start
// with a dot, so the layer store neither lists them as layers nor cleans
// them up.
const (
	imagesDir = ".images" // the image index: index.json, its lock
	blobsDir  = ".blobs"  // content by digest: blobs/sha256/<hex>, tmp/
	indexName = "index.json"
	lockName  = "lock"
	pullsName = "pulls.lock"
	formatV   = 1
)

// Store is the image index of a layer store: references (tags and digests)
// to manifest digests, and per manifest a Record (the config, the index it
// came from, platform, source, layers). Manifests, configs and indexes are
// kept as blobs by digest in <store>/.blobs/sha256/, and so are the
// compressed layer blobs unless the store was opened WithoutLayerBlobs.
//
// The index is one JSON file, <store>/.images/index.json, rewritten
// atomically (temp file, fsync, rename) under an exclusive lock on
// <store>/.images/lock, so concurrent pulls and removals in any number of
// processes each see and leave a whole index.
type Store struct {
	layers    *layer.Store
	home      string
	keepBlobs bool
}

// StoreOption configures OpenStore.
type StoreOption func(*Store)

// WithoutLayerBlobs makes pulls drop the compressed layer blobs once the
// layers are imported (saving their space). Push and save then recompress
// the layers, and the manifest digest changes.
func WithoutLayerBlobs() StoreOption { return func(s *Store) { s.keepBlobs = false } }

// OpenStore opens the image index of the layer store layers (creating its
// directories on first write).
func OpenStore(layers *layer.Store, opts ...StoreOption) *Store {
	s := &Store{layers: layers, home: layers.Home(), keepBlobs: true}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Layers is the layer store the images live in.
func (s *Store) Layers() *layer.Store { return s.layers }

// LayerRecord is one layer of a stored image.
type LayerRecord struct {
	// ID is the store layer id: the 64-hex ChainID.
	ID string `json:"id"`
	// DiffID is the sha256 of the uncompressed layer tar (the config's).
	DiffID string `json:"diff_id"`
	// Digest, MediaType, Size and URLs are the manifest's descriptor.
	Digest    string   `json:"digest"`
	MediaType string   `json:"media_type"`
	Size      int64    `json:"size"`
	URLs      []string `json:"urls,omitempty"`
}

// Record is one image (manifest) of the store.
type Record struct {
	// ManifestDigest, ManifestMediaType: the stored manifest.
	ManifestDigest    string `json:"manifest_digest"`
	ManifestMediaType string `json:"manifest_media_type"`
	// ConfigDigest is the digest of the stored config.
	ConfigDigest string `json:"config_digest"`
	// IndexDigest, IndexMediaType: the index the manifest was chosen from
	// (its bytes are a stored blob); empty when the source named the
	// manifest directly.
	IndexDigest    string `json:"index_digest,omitempty"`
	IndexMediaType string `json:"index_media_type,omitempty"`
	// Platform is the config's (os, architecture, os.version, ...).
	Platform *v1.Platform `json:"platform,omitempty"`
	// Source is where the image was pulled or loaded from, as given.
	Source string `json:"source"`
	// Repository is the registry repository it came from (empty for file
	// sources), for cross-repository mounts on push.
	Repository string `json:"repository,omitempty"`
	// Layers are the image's layers, base first.
	Layers []LayerRecord `json:"layers"`
	// Created is when the record was first written.
	Created time.Time `json:"created"`
	// GeneratedManifest says that the source had no manifest (a
	// docker-archive) and winlayer wrote one.
	GeneratedManifest bool `json:"generated_manifest,omitempty"`
}

// indexFile is the content of .images/index.json.
type indexFile struct {
	Version int                `json:"version"`
	Refs    map[string]string  `json:"refs"`
	Images  map[string]*Record `json:"images"`
	// Owned are the store layers that image records brought in: the ones
	// a collection may remove once no image uses them (a layer imported by
	// hand is never owned).
	Owned map[string]bool `json:"owned_layers,omitempty"`
	// Drop are blobs of removed images not collected yet (a pull was
	// running, or the removal was killed before its collection); the next
	// collection removes those no image uses.
	Drop map[string]bool `json:"drop_blobs,omitempty"`
}

func (s *Store) indexPath() string { return filepath.Join(s.home, imagesDir, indexName) }

// read loads the index; a store without one has no images.
func (s *Store) read() (*indexFile, error) {
	ix := &indexFile{Version: formatV, Refs: map[string]string{}, Images: map[string]*Record{}, Owned: map[string]bool{}, Drop: map[string]bool{}}
	b, err := os.ReadFile(s.indexPath())
	if errors.Is(err, fs.ErrNotExist) {
		return ix, nil
	}
	if err != nil {
		return nil, fmt.Errorf("image index: %w", err)
	}
	if err := json.Unmarshal(b, ix); err != nil {
		return nil, fmt.Errorf("image index %s: %w: %w", s.indexPath(), err, layer.ErrCorrupt)
	}
	if ix.Version != formatV {
		return nil, fmt.Errorf("image index %s: format version %d, this winlayer reads %d: %w", s.indexPath(), ix.Version, formatV, layer.ErrCorrupt)
	}
	if ix.Refs == nil {
		ix.Refs = map[string]string{}
	}
	if ix.Images == nil {
		ix.Images = map[string]*Record{}
	}
	if ix.Owned == nil {
		ix.Owned = map[string]bool{}
	}
	if ix.Drop == nil {
		ix.Drop = map[string]bool{}
	}
	for d, r := range ix.Images {
		if r == nil {
			return nil, fmt.Errorf("image index %s: image %s: null record: %w", s.indexPath(), d, layer.ErrCorrupt)
		}
	}
	for ref, d := range ix.Refs {
		if ix.Images[d] == nil {
			return nil, fmt.Errorf("image index %s: reference %s names %s, which has no record: %w", s.indexPath(), ref, d, layer.ErrCorrupt)
		}
	}
	return ix, nil
}

// write replaces the index atomically: temp file, fsync, rename, fsync
// of the directory. Call it with the lock held.
func (s *Store) write(ix *indexFile) error {
	b, err := json.MarshalIndent(ix, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(s.indexPath(), b, 0o644)
}

// update runs fn on the index under the lock and writes the result when
// fn returns no error.
func (s *Store) update(fn func(ix *indexFile) error) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	ix, err := s.read()
	if err != nil {
		return err
	}
	if err := fn(ix); err != nil {
		return err
	}
	return s.write(ix)
}

// lock takes the exclusive lock of the index.
func (s *Store) lock() (func(), error) {
	dir := filepath.Join(s.home, imagesDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("image index: %w", err)
	}
	return lockFile(filepath.Join(dir, lockName), flock.Exclusive)
}

// HoldIndex takes the image index's exclusive lock (the one every pull's
// record, Tag and Remove take, in any process) and returns its release.
// While it is held no image is recorded, so a caller that removes store
// layers holds it from its UsersOf check to the removal: a pull cannot
// record an image over a layer between the two. Do not call the Store's
// writing methods while holding it (they would wait for it).
func (s *Store) HoldIndex() (release func(), err error) { return s.lock() }

// pullLease is held (shared) by every pull while it runs; a collection
// that cannot take it exclusively leaves layers and fresh blobs alone,
// since a running pull may be about to record them.
func (s *Store) pullLease() (func(), error) {
	dir := filepath.Join(s.home, imagesDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("image index: %w", err)
	}
	return lockFile(filepath.Join(dir, pullsName), flock.Shared)
}

// lockMode is the mode of the image locks (.images/lock, pulls.lock):
// readable by all, as the layer store's own lock and the rest of the store
// are, so that other users can read a store root made.
const lockMode = 0o644

// lockFile takes the lock on the file at p (created if needed; a symlink
// there is refused, not followed) and returns its release. The system
// drops it when the process dies.
func lockFile(p string, mode flock.Mode) (func(), error) {
	l, err := flock.Lock(p, mode, lockMode)
	if err != nil {
		return nil, fmt.Errorf("image index: %w", err)
	}
	return l.Unlock, nil
}

// CanonicalRef is the form a reference is stored and compared in: for a
// registry reference (one with a / : or @) its full name
// ("index.docker.io/library/x:latest", "127.0.0.1:5000/app@sha256:…"),
// otherwise the text as given (an OCI layout's bare ref.name).
func CanonicalRef(s string) string {
	if !strings.ContainsAny(s, "/:@") {
		return s
	}
	if r, err := name.ParseReference(s); err == nil {
		return r.Name()
	}
	return s
}

// find resolves name in ix: a reference (as stored, or canonically equal,
// or a bare name as docker completes it),
// a manifest digest (sha256:<hex>), or a unique prefix of at least 12 hex
// digits of one.
func (ix *indexFile) find(n string) (string, *Record, error) {
	d, r, _, err := ix.findRef(n)
	return d, r, err
}

// findRef is find that also returns the reference key that matched ("" when
// n named the image by digest).
func (ix *indexFile) findRef(n string) (string, *Record, string, error) {
	keys := []string{n, CanonicalRef(n)}
	// A bare name as docker reads it: "alpine" is
	// index.docker.io/library/alpine:latest.
	if r, err := name.ParseReference(n); err == nil {
		keys = append(keys, r.Name())
	}
	for _, k := range keys {
		if d, ok := ix.Refs[k]; ok {
			return d, ix.Images[d], k, nil
		}
	}
	if r, ok := ix.Images[n]; ok {
		return n, r, "", nil
	}
	hexPart := strings.TrimPrefix(n, "sha256:")
	if len(hexPart) >= 12 && isHex(hexPart) {
		var hits []string
		for d := range ix.Images {
			if strings.HasPrefix(strings.TrimPrefix(d, "sha256:"), hexPart) {
				hits = append(hits, d)
			}
		}
		sort.Strings(hits)
		switch len(hits) {
		case 1:
			return hits[0], ix.Images[hits[0]], "", nil
		case 0:
		default:
			return "", nil, "", fmt.Errorf("image %s: %w: %s", n, ErrAmbiguousName, strings.Join(hits, ", "))
		}
	}
	return "", nil, "", fmt.Errorf("image %s: %w", n, ErrNoImage)
}

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// refsOf lists the references of manifest digest d, sorted.
func (ix *indexFile) refsOf(d string) []string {
	var refs []string
	for r, md := range ix.Refs {
		if md == d {
			refs = append(refs, r)
		}
	}
	slices.Sort(refs)
	return refs
}

// ImageInfo is a stored image with its references, as Images and Lookup
// return it.
type ImageInfo struct {
	Record
	// References are the tags and digest references naming the image.
	References []string `json:"references"`
}

// Images lists the stored images, sorted by their first reference (images
// without one last, by digest).
func (s *Store) Images() ([]ImageInfo, error) {
	ix, err := s.read()
	if err != nil {
		return nil, err
	}
	out := make([]ImageInfo, 0, len(ix.Images))
	for d, r := range ix.Images {
		out = append(out, ImageInfo{Record: *r, References: ix.refsOf(d)})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (len(a.References) == 0) != (len(b.References) == 0) {
			return len(a.References) > 0
		}
		if len(a.References) > 0 && a.References[0] != b.References[0] {
			return a.References[0] < b.References[0]
		}
		return a.ManifestDigest < b.ManifestDigest
	})
	return out, nil
}

// Lookup finds the image name names: a reference as pulled (or tagged), a
// manifest digest, or a unique prefix of 12 or more hex digits of one.
// The error wraps ErrNoImage or ErrAmbiguousName.
func (s *Store) Lookup(n string) (*ImageInfo, error) {
	ix, err := s.read()
	if err != nil {
		return nil, err
	}
	d, r, err := ix.find(n)
	if err != nil {
		return nil, err
	}
	return &ImageInfo{Record: *r, References: ix.refsOf(d)}, nil
}

// Tag adds the reference newRef to the image named n (moving newRef if
// another image had it).
func (s *Store) Tag(n, newRef string) error {
	if strings.TrimSpace(newRef) == "" || strings.ContainsAny(newRef, " \t\n") {
		return fmt.Errorf("tag %s %q: %w", n, newRef, ErrBadReference)
	}
	var digestRef name.Digest
	if strings.ContainsAny(newRef, "/:@") {
		r, err := name.ParseReference(newRef)
		if err != nil {
			return fmt.Errorf("tag %s %q: %w: %v", n, newRef, ErrBadReference, err)
		}
		digestRef, _ = r.(name.Digest)
	}
	return s.update(func(ix *indexFile) error {
		d, _, err := ix.find(n)
		if err != nil {
			return fmt.Errorf("tag: %w", err)
		}
		if dg := digestRef.DigestStr(); dg != "" && dg != d {
			// A digest reference that names another manifest would make
			// inspect, save and push of it give this image under a
			// digest it does not have.
			return fmt.Errorf("tag %s %s: %w: the image's manifest is %s, so a digest reference to it must end @%s (give a tag, repo:TAG, to name it freely)", n, newRef, ErrBadReference, d, d)
		}
		ix.Refs[CanonicalRef(newRef)] = d
		return nil
	})
}

// UsersOf returns the images (each by its first reference, else its
// manifest digest) whose layers include layer id, sorted.
func (s *Store) UsersOf(id string) ([]string, error) {
	ix, err := s.read()
	if err != nil {
		return nil, err
	}
	var users []string
	for d, r := range ix.Images {
		for _, l := range r.Layers {
			if l.ID == id {
				n := d
				if refs := ix.refsOf(d); len(refs) > 0 {
					n = refs[0]
				}
				users = append(users, n)
				break
			}
		}
	}
	sort.Strings(users)
	return users, nil
}
