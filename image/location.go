package image

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// ErrBadLocation is returned by ParseLocation for text that names no image
// location.
var ErrBadLocation = errors.New("not an image location")

// ErrBarePath is the error of ParseLocation for a path given without its
// oci: or docker-archive: prefix ("/tmp/layout", "./app.tar", an existing
// file); it is also ErrBadLocation.
var ErrBarePath = errors.New("a path, not a registry reference")

// barePathError is ParseLocation's error for a bare path: its text names
// both file forms; errors.Is matches ErrBadLocation and ErrBarePath.
type barePathError struct{ text string }

func (e *barePathError) Error() string { return e.text }

// Is reports whether target is ErrBadLocation or ErrBarePath.
func (e *barePathError) Is(target error) bool {
	return target == ErrBadLocation || target == ErrBarePath
}

// Kind is the kind of place an image lives.
type Kind int

// The kinds of Location.
const (
	// KindRegistry is a registry repository: host[:port]/repo[:tag|@digest].
	KindRegistry Kind = iota + 1
	// KindOCI is an OCI image layout directory: oci:DIR[:TAG].
	KindOCI
	// KindDockerArchive is a docker save archive: docker-archive:FILE[:REF].
	KindDockerArchive
)

// Location prefixes, as skopeo spells them.
const (
	prefixOCI           = "oci:"
	prefixDockerArchive = "docker-archive:"
	prefixDocker        = "docker://"
)

// String names the kind as a user types it.
func (k Kind) String() string {
	switch k {
	case KindRegistry:
		return "registry"
	case KindOCI:
		return "oci"
	case KindDockerArchive:
		return "docker-archive"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Location is where an image is read from or written to.
type Location struct {
	// Kind says which of the fields below are set.
	Kind Kind
	// Ref is the registry reference (KindRegistry).
	Ref name.Reference
	// Path is the layout directory (KindOCI) or the archive file
	// (KindDockerArchive).
	Path string
	// Tag is the optional name after the path: the layout's
	// org.opencontainers.image.ref.name (KindOCI), or the repository:tag of
	// an image in the archive (KindDockerArchive). Empty means "the only
	// image" when reading and "no name" when writing.
	Tag string
}

// String gives the location back in the form ParseLocation reads.
func (l Location) String() string {
	switch l.Kind {
	case KindRegistry:
		if l.Ref == nil {
			return ""
		}
		return l.Ref.String()
	case KindOCI, KindDockerArchive:
		p := prefixOCI
		if l.Kind == KindDockerArchive {
			p = prefixDockerArchive
		}
		if l.Tag != "" {
			return p + l.Path + ":" + l.Tag
		}
		return p + l.Path
	}
	return ""
}

// ParseLocation reads an image location:
//
//	host[:port]/repo[:tag|@sha256:…]   a registry (docker:// in front is accepted)
//	oci:DIR[:TAG]                      an OCI image layout
//	docker-archive:FILE[:REF]          a docker save archive
//
// A registry on localhost or 127.0.0.1 speaks plain HTTP (as Docker and
// go-containerregistry do); opts (name.Insecure) extend that to others. When
// the whole text after oci: or docker-archive: exists as a path it is the
// path; otherwise the path ends at the first colon.
func ParseLocation(s string, opts ...name.Option) (Location, error) {
	switch {
	case s == "":
		return Location{}, fmt.Errorf("%w: empty", ErrBadLocation)
	case strings.HasPrefix(s, prefixOCI):
		return parsePathLocation(s, KindOCI, strings.TrimPrefix(s, prefixOCI))
	case strings.HasPrefix(s, prefixDockerArchive):
		return parsePathLocation(s, KindDockerArchive, strings.TrimPrefix(s, prefixDockerArchive))
	}
	r := strings.TrimPrefix(s, prefixDocker)
	if i := strings.Index(r, ":"); i > 0 && !strings.ContainsAny(r[:i], "./") && !strings.Contains(r[:i], "localhost") {
		// "oci-archive:x", "dir:x", "containers-storage:x": a transport
		// we do not have, not a registry host.
		if tr := r[:i]; strings.HasSuffix(tr, "-archive") || tr == "dir" || tr == "containers-storage" || tr == "docker-daemon" {
			return Location{}, fmt.Errorf("%w: %q: transport %q is not supported (use a registry reference, oci:DIR[:TAG] or docker-archive:FILE)", ErrBadLocation, s, tr)
		}
	}
	ref, err := name.ParseReference(r, append([]name.Option{name.StrictValidation}, opts...)...)
	if err != nil && looksLikePath(r) {
		// "/tmp/layout" or "./app.tar" would parse as a Docker Hub
		// repository: the user meant a file and left the transport out
		// (or wrote docker:// before it).
		return Location{}, &barePathError{fmt.Sprintf("%v: %q is a path, not a registry reference: write %s%s for an OCI image layout or %s%s for a docker-save archive", ErrBadLocation, s, prefixOCI, r, prefixDockerArchive, r)}
	}
	if err != nil {
		// Retry without strict validation so "alpine" becomes
		// index.docker.io/library/alpine:latest as users expect; the
		// strict pass only decides the wording.
		ref, err = name.ParseReference(r, opts...)
		if err == nil && slices.Contains(strings.Split(ref.Context().RepositoryStr(), "/"), "") {
			// The lax pass takes "a//b" or "a/" as a repository.
			err = fmt.Errorf("repository %q has an empty path component", ref.Context().RepositoryStr())
		}
		if err != nil {
			return Location{}, fmt.Errorf("%w: %q: %v (want host[:port]/repo[:tag|@sha256:…], oci:DIR[:TAG] or docker-archive:FILE)", ErrBadLocation, s, err)
		}
	}
	return Location{Kind: KindRegistry, Ref: ref}, nil
}

// looksLikePath reports whether s, which is no strict registry reference,
// names a file: it starts like a path (/, ./, ../, ~) or exists.
func looksLikePath(s string) bool {
	for _, p := range []string{"/", "./", "../", "~"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	_, err := os.Stat(s)
	return err == nil
}

func parsePathLocation(s string, kind Kind, rest string) (Location, error) {
	if rest == "" {
		return Location{}, fmt.Errorf("%w: %q: no path after %q", ErrBadLocation, s, strings.TrimSuffix(s, rest))
	}
	if _, err := os.Stat(rest); err == nil {
		return Location{Kind: kind, Path: rest}, nil
	}
	path, tag, _ := strings.Cut(rest, ":")
	if path == "" {
		return Location{}, fmt.Errorf("%w: %q: empty path", ErrBadLocation, s)
	}
	return Location{Kind: kind, Path: path, Tag: tag}, nil
}
