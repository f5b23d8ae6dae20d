package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/winlayer/winlayer/internal/decompress"
)

// Errors of Open and Source.Resolve, for callers to test with errors.Is.
var (
	// ErrSchema1 is returned for a registry manifest in Docker's old
	// schema 1 format, which carries no config and no DiffIDs.
	ErrSchema1 = errors.New("docker schema 1 manifests are not supported")
	// ErrNotFound is returned when a location has no image by the name asked
	// for (an oci: TAG or docker-archive: REF that nothing carries).
	ErrNotFound = errors.New("image not found")
	// ErrSeveralImages is returned when a location holds several distinct
	// images (not platforms of one image) and nothing says which one; the
	// message lists them.
	ErrSeveralImages = errors.New("the location holds several images")
	// ErrUnknownMediaType is returned for a manifest that is neither an
	// image nor an index.
	ErrUnknownMediaType = errors.New("unknown manifest media type")
)

// refNameAnnotation is the OCI annotation naming an image of a layout.
const refNameAnnotation = "org.opencontainers.image.ref.name"

// Source is an opened image location. Exactly one of Index and Image is set
// for registries and OCI layouts; a docker-archive sets Image when it holds
// one image (or :REF chose one) and Archive always.
//
// Typical use:
//
//	src, err := image.Open(ctx, loc, cfg)
//	res, err := src.Resolve(platform, explicit) // the Windows image to pull
//	// res.Image is a v1.Image; res.Descriptor its manifest descriptor
//
// or, to copy everything, src.Index / src.Image directly.
type Source struct {
	// Location is where the source was opened.
	Location Location
	// Index is set when the location is an image index (a multi-platform
	// registry reference, an OCI layout's index.json or the index a layout
	// TAG names, or the entries several layout manifests share a TAG with).
	Index v1.ImageIndex
	// Image is set when the location is one image manifest.
	Image v1.Image
	// Descriptor describes what Index or Image is: media type, digest, size
	// (and platform, when an enclosing index said so).
	Descriptor v1.Descriptor
	// Archive lists the images of a docker-archive (manifest.json), the one
	// :REF chose only when REF was given.
	Archive []ArchiveImage
	// Name is the reference the image is known by: the registry reference
	// as given, the layout TAG, the archive's repo:tag. Empty when the
	// location names none (the image is then known by its digest).
	Name string

	// archiveErr is why the chosen archive image could not be opened as a
	// v1.Image (Resolve returns it; Store.Pull reads archives itself).
	archiveErr error
}

// ArchiveImage is one image of a docker-archive (an entry of its
// manifest.json).
type ArchiveImage struct {
	// Index is the entry's position in manifest.json.
	Index int
	// Entry is the manifest.json entry: config file, repo tags, layer
	// files, and LayerSources (the descriptors of foreign layers, by DiffID).
	Entry tarball.Descriptor
	// Path is the archive file.
	Path string
}

// Image opens the archive image as a go-containerregistry v1.Image. The
// image's manifest is computed from the archive's layer files (hashing every
// layer when it is first asked for), as docker-archive images carry none.
func (a ArchiveImage) Image() (v1.Image, error) {
	opener := func() (io.ReadCloser, error) { return os.Open(a.Path) }
	if len(a.Entry.RepoTags) > 0 {
		t, err := name.NewTag(a.Entry.RepoTags[0])
		if err == nil {
			return tarball.Image(opener, &t)
		}
	}
	// An untagged image: only possible when it is the archive's only one.
	return tarball.Image(opener, nil)
}

// Open reads the location loc: a registry reference (remote.Get: an index
// or an image; schema 1 refused with ErrSchema1), an OCI layout
// (oci:DIR[:TAG], TAG matched against org.opencontainers.image.ref.name), or
// a docker-archive (docker-archive:FILE[:REF], REF a repo:tag of the archive
// or @N for its N-th image counting from 0). Nothing is downloaded beyond
// manifests; layers are read when used.
//
// To pick the Windows image to pull use Source.Resolve.
func Open(ctx context.Context, loc Location, cfg Config) (*Source, error) {
	switch loc.Kind {
	case KindRegistry:
		return openRegistry(ctx, loc, cfg)
	case KindOCI:
		return openLayout(loc)
	case KindDockerArchive:
		return openArchive(loc)
	}
	return nil, fmt.Errorf("open %q: %w", loc.String(), ErrBadLocation)
}

func openRegistry(ctx context.Context, loc Location, cfg Config) (*Source, error) {
	if loc.Ref == nil {
		return nil, fmt.Errorf("open: %w: no reference", ErrBadLocation)
	}
	desc, err := remote.Get(loc.Ref, cfg.RemoteOptions(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", loc.Ref, err)
	}
	src := &Source{Location: loc, Descriptor: desc.Descriptor, Name: loc.Ref.String()}
	switch mt := desc.MediaType; {
	case mt == types.DockerManifestSchema1 || mt == types.DockerManifestSchema1Signed:
		return nil, fmt.Errorf("open %s: %w (media type %s): push the image again with a current docker, skopeo or crane", loc.Ref, ErrSchema1, mt)
	case mt.IsIndex():
		if src.Index, err = desc.ImageIndex(); err != nil {
			return nil, fmt.Errorf("open %s: index: %w", loc.Ref, err)
		}
	case mt.IsImage():
		if src.Image, err = desc.Image(); err != nil {
			return nil, fmt.Errorf("open %s: image: %w", loc.Ref, err)
		}
	default:
		return nil, fmt.Errorf("open %s: %w %q", loc.Ref, ErrUnknownMediaType, mt)
	}
	return src, nil
}

func openLayout(loc Location) (*Source, error) {
	what := loc.String()
	if fi, err := os.Stat(loc.Path); err == nil && !fi.IsDir() {
		// oci: and docker-archive: swapped, the commonest slip.
		return nil, fmt.Errorf("open %s: %w: %s is a file, not a directory (a docker-save archive is docker-archive:%s)", what, ErrNotLayout, loc.Path, loc.Path)
	}
	idx, err := layout.ImageIndexFromPath(loc.Path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w: %w", what, ErrNotLayout, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("open %s: index.json: %w", what, err)
	}
	src := &Source{Location: loc, Name: loc.Tag}
	var pick []v1.Descriptor
	if loc.Tag == "" {
		pick = im.Manifests
		if len(pick) == 0 {
			return nil, fmt.Errorf("open %s: %w: index.json lists no manifests", what, ErrNotFound)
		}
		// Several differently named entries are several images, not
		// platforms of one.
		if names := refNames(pick); len(names) > 1 {
			return nil, fmt.Errorf("open %s: %w; name one with oci:%s:TAG, TAG one of: %s", what, ErrSeveralImages, loc.Path, strings.Join(names, ", "))
		}
		// The same manifest listed twice (named, and unnamed as a copy
		// without TAG writes it) is one image, not an index of two.
		pick = dedupeDigests(pick)
		if len(pick) == 1 {
			src.Name = pick[0].Annotations[refNameAnnotation]
		}
	} else {
		for _, d := range im.Manifests {
			if d.Annotations[refNameAnnotation] == loc.Tag {
				pick = append(pick, d)
			}
		}
		if len(pick) == 0 {
			names := refNames(im.Manifests)
			if len(names) == 0 {
				names = []string{"(none)"}
			}
			return nil, fmt.Errorf("open %s: %w: no entry of index.json has %s %q; the layout has: %s", what, ErrNotFound, refNameAnnotation, loc.Tag, strings.Join(names, ", "))
		}
	}
	if len(pick) == 1 {
		d := pick[0]
		src.Descriptor = d
		switch {
		case d.MediaType.IsIndex():
			if src.Index, err = idx.ImageIndex(d.Digest); err != nil {
				return nil, fmt.Errorf("open %s: index %s: %w", what, d.Digest, err)
			}
		case d.MediaType.IsImage():
			if src.Image, err = idx.Image(d.Digest); err != nil {
				return nil, fmt.Errorf("open %s: image %s: %w", what, d.Digest, err)
			}
		default:
			return nil, fmt.Errorf("open %s: entry %s: %w %q", what, d.Digest, ErrUnknownMediaType, d.MediaType)
		}
		return src, nil
	}
	if len(pick) == len(im.Manifests) {
		src.Index = idx
		src.Descriptor, err = indexDescriptor(idx)
	} else {
		sub, serr := newSubIndex(idx, pick)
		if serr != nil {
			return nil, fmt.Errorf("open %s: %w", what, serr)
		}
		src.Index = sub
		src.Descriptor, err = indexDescriptor(sub)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", what, err)
	}
	return src, nil
}

// refNames lists the distinct ref.name annotations of ds, in order.
func refNames(ds []v1.Descriptor) []string {
	var names []string
	for _, d := range ds {
		if n := d.Annotations[refNameAnnotation]; n != "" {
			names = appendUnique(names, n)
		}
	}
	return names
}

func indexDescriptor(idx v1.ImageIndex) (v1.Descriptor, error) {
	mt, err := idx.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	dg, err := idx.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	size, err := idx.Size()
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mt, Digest: dg, Size: size}, nil
}

func openArchive(loc Location) (*Source, error) {
	what := loc.String()
	if fi, err := os.Stat(loc.Path); err == nil && fi.IsDir() {
		hint := ""
		if _, err := os.Stat(filepath.Join(loc.Path, "index.json")); err == nil {
			hint = fmt.Sprintf(" (it holds an OCI image layout: oci:%s)", loc.Path)
		}
		return nil, fmt.Errorf("open %s: %w: %s is a directory, not a docker-save archive%s", what, ErrBadLocation, loc.Path, hint)
	}
	// Members are read in place: refuse what cannot be (sparse files).
	if a, err := openArchiveFile(loc.Path); err == nil {
		a.Close()
	} else if errors.Is(err, ErrBadImage) {
		return nil, fmt.Errorf("open %s: %w", what, err)
	}
	opener := func() (io.ReadCloser, error) { return os.Open(loc.Path) }
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, fmt.Errorf("open %s: not a docker-archive (manifest.json): %w%s", what, err, archiveHint(loc.Path))
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("open %s: %w: manifest.json lists no images", what, ErrNotFound)
	}
	all := make([]ArchiveImage, len(m))
	for i, e := range m {
		all[i] = ArchiveImage{Index: i, Entry: e, Path: loc.Path}
	}
	src := &Source{Location: loc}
	if loc.Tag == "" {
		src.Archive = all
		if len(all) == 1 {
			if len(all[0].Entry.RepoTags) > 0 {
				src.Name = all[0].Entry.RepoTags[0]
			}
			// A layer file left out (a foreign layer) fails go-containerregistry's
			// reader but not a load: keep the error for Resolve.
			src.Image, src.archiveErr = all[0].Image()
		}
		return src, nil
	}
	a, err := findArchiveImage(all, loc.Tag)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", what, err)
	}
	src.Archive = []ArchiveImage{a}
	if !strings.HasPrefix(loc.Tag, "@") {
		src.Name = loc.Tag
	} else if len(a.Entry.RepoTags) > 0 {
		src.Name = a.Entry.RepoTags[0]
	}
	if len(a.Entry.RepoTags) > 0 || len(all) == 1 {
		src.Image, src.archiveErr = a.Image()
	}
	return src, nil
}

// findArchiveImage finds the image ref names: "@N" (the N-th from 0) or a
// repo:tag as written in RepoTags (compared as resolved names, so "x:1" and
// "index.docker.io/library/x:1" are the same).
func findArchiveImage(all []ArchiveImage, ref string) (ArchiveImage, error) {
	if n, ok := strings.CutPrefix(ref, "@"); ok {
		i, err := strconv.Atoi(n)
		if err != nil || i < 0 || i >= len(all) {
			return ArchiveImage{}, fmt.Errorf("%w: @%s: the archive has images @0 to @%d", ErrNotFound, n, len(all)-1)
		}
		return all[i], nil
	}
	want, err := name.NewTag(ref)
	if err != nil {
		return ArchiveImage{}, fmt.Errorf("%w: %q is no repo:tag or @N: %v", ErrBadLocation, ref, err)
	}
	var have []string
	for _, a := range all {
		for _, t := range a.Entry.RepoTags {
			have = append(have, t)
			if tt, err := name.NewTag(t); err == nil && tt.Name() == want.Name() {
				return a, nil
			}
		}
	}
	if len(have) == 0 {
		have = []string{"(no tags; use @N)"}
	}
	return ArchiveImage{}, fmt.Errorf("%w: no image tagged %s; the archive has: %s", ErrNotFound, ref, strings.Join(have, ", "))
}

// Resolved is the one image of a Source chosen for a platform.
type Resolved struct {
	// Image is the chosen image.
	Image v1.Image
	// Descriptor is its manifest descriptor (media type, digest, size,
	// platform when the index said so).
	Descriptor v1.Descriptor
	// Index is the index it was chosen from (the innermost one for nested
	// indexes), nil when the source named the image directly.
	Index v1.ImageIndex
}

// Resolve chooses the Windows image of the source for p. An index goes
// through Select (explicit says whether the user gave --platform; see
// Select), descending into nested indexes; a single image must be a Windows
// image (ErrNotWindows otherwise — there is never a fallback to Linux) of
// p's architecture (ErrNoMatch otherwise). A docker-archive must have one
// image selected (ErrSeveralImages lists them otherwise).
func (s *Source) Resolve(p Platform, explicit bool) (*Resolved, error) {
	what := s.Location.String()
	switch {
	case s.Index != nil:
		idx := s.Index
		for depth := 0; ; depth++ {
			im, err := idx.IndexManifest()
			if err != nil {
				return nil, fmt.Errorf("%s: index: %w", what, err)
			}
			d, err := Select(im, p, explicit)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", what, err)
			}
			if d.MediaType.IsIndex() && depth < 4 {
				if idx, err = idx.ImageIndex(d.Digest); err != nil {
					return nil, fmt.Errorf("%s: index %s: %w", what, d.Digest, err)
				}
				continue
			}
			img, err := idx.Image(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("%s: image %s: %w", what, d.Digest, err)
			}
			return &Resolved{Image: img, Descriptor: d, Index: idx}, nil
		}
	case s.Image != nil:
		if err := checkImagePlatform(s.Image, p, explicit); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		d := s.Descriptor
		if d.Digest == (v1.Hash{}) {
			var err error
			if d, err = imageDescriptor(s.Image); err != nil {
				return nil, fmt.Errorf("%s: %w", what, err)
			}
		}
		return &Resolved{Image: s.Image, Descriptor: d}, nil
	case len(s.Archive) == 1 && s.archiveErr != nil:
		return nil, fmt.Errorf("%s: %w", what, s.archiveErr)
	case len(s.Archive) > 1:
		lines := make([]string, len(s.Archive))
		for i, a := range s.Archive {
			tags := strings.Join(a.Entry.RepoTags, " ")
			if tags == "" {
				tags = "(untagged)"
			}
			lines[i] = fmt.Sprintf("  @%d %s", a.Index, tags)
		}
		return nil, fmt.Errorf("%s: %w; name one with docker-archive:%s:REF (a tag or @N):\n%s", what, ErrSeveralImages, s.Location.Path, strings.Join(lines, "\n"))
	}
	return nil, fmt.Errorf("%s: %w", what, ErrNotFound)
}

// imageDescriptor describes img's manifest.
func imageDescriptor(img v1.Image) (v1.Descriptor, error) {
	mt, err := img.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	dg, err := img.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	size, err := img.Size()
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mt, Digest: dg, Size: size}, nil
}

// checkImagePlatform checks that a lone image (no index around it) is a
// Windows image of the requested architecture and, when explicit and the
// request names one, os.version.
func checkImagePlatform(img v1.Image, p Platform, explicit bool) error {
	cf, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	pl := cf.Platform()
	if pl == nil || pl.OS == "" {
		return fmt.Errorf("the image config names no OS; %w", ErrNotWindows)
	}
	if !isWindowsOS(pl.OS) {
		what := "is not a Windows image"
		if strings.EqualFold(pl.OS, "linux") {
			what = "is a Linux image"
		}
		return fmt.Errorf("the image %s (%s); %w", what, platformName(pl), ErrNotWindows)
	}
	// Reuse Select's rules on a one-entry index.
	one := &v1.IndexManifest{SchemaVersion: 2, Manifests: []v1.Descriptor{{Platform: pl}}}
	_, err = Select(one, p, explicit)
	return err
}

// dedupeDigests drops the entries whose digest an earlier entry has,
// keeping a named one over an unnamed one; the order is kept.
func dedupeDigests(ds []v1.Descriptor) []v1.Descriptor {
	at := map[v1.Hash]int{}
	var out []v1.Descriptor
	for _, d := range ds {
		i, seen := at[d.Digest]
		switch {
		case !seen:
			at[d.Digest] = len(out)
			out = append(out, d)
		case out[i].Annotations[refNameAnnotation] == "" && d.Annotations[refNameAnnotation] != "":
			out[i] = d
		}
	}
	return out
}

// archiveHint says what a tar without manifest.json given as a
// docker-archive looks like: a Windows layer tar (Files/, Hives/ at the
// top) or an OCI image layout packed in a tar.
func archiveHint(p string) string {
	if f, err := os.Open(p); err == nil {
		magic := make([]byte, 4)
		n, _ := io.ReadFull(f, magic)
		f.Close()
		switch decompress.Detect(magic[:n]) {
		case decompress.Gzip:
			return " (the file is gzip-compressed, as 'docker save | gzip' writes it; a docker-archive is the plain tar: gunzip it first)"
		case decompress.Zstd:
			return " (the file is zstd-compressed; a docker-archive is the plain tar: zstd -d it first)"
		}
	}
	a, err := openArchiveFile(p)
	if err != nil {
		return ""
	}
	defer a.Close()
	for n := range a.members {
		switch {
		case n == "index.json" || n == "oci-layout":
			return " (the tar holds an OCI image layout: unpack it and give oci:DIR)"
		case strings.HasPrefix(n, "Files/") || strings.HasPrefix(n, "Hives/") || strings.HasPrefix(n, "UtilityVM/"):
			return " (it is a Windows layer tar: 'winlayer import ID < FILE' imports it)"
		}
	}
	return ""
}
