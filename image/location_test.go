package image

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseLocation(t *testing.T) {
	dir := t.TempDir()
	colonDir := filepath.Join(dir, "a:b")
	if err := os.Mkdir(colonDir, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in       string
		kind     Kind
		ref      string // Ref.String() for registries
		path     string
		tag      string
		insecure bool
		scheme   string
	}{
		{in: "localhost:5000/win/base:ltsc2022", kind: KindRegistry, ref: "localhost:5000/win/base:ltsc2022", scheme: "http"},
		{in: "127.0.0.1:5000/win/base@sha256:" + sixtyFour('a'), kind: KindRegistry, ref: "127.0.0.1:5000/win/base@sha256:" + sixtyFour('a'), scheme: "http"},
		{in: "docker://127.0.0.1:5000/x", kind: KindRegistry, ref: "127.0.0.1:5000/x", scheme: "http"},
		{in: "mcr.microsoft.com/windows/nanoserver:ltsc2022", kind: KindRegistry, ref: "mcr.microsoft.com/windows/nanoserver:ltsc2022", scheme: "https"},
		{in: "example.com/x:1", kind: KindRegistry, ref: "example.com/x:1", insecure: true, scheme: "http"},
		{in: "oci:/tmp/layout", kind: KindOCI, path: "/tmp/layout"},
		{in: "oci:/tmp/layout:v1", kind: KindOCI, path: "/tmp/layout", tag: "v1"},
		{in: "oci:" + colonDir, kind: KindOCI, path: colonDir},
		{in: "docker-archive:/tmp/a.tar", kind: KindDockerArchive, path: "/tmp/a.tar"},
		{in: "docker-archive:/tmp/a.tar:win/app:1", kind: KindDockerArchive, path: "/tmp/a.tar", tag: "win/app:1"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c := Config{Insecure: tt.insecure}
			l, err := c.Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if l.Kind != tt.kind || l.Path != tt.path || l.Tag != tt.tag {
				t.Fatalf("got %v %q %q, want %v %q %q", l.Kind, l.Path, l.Tag, tt.kind, tt.path, tt.tag)
			}
			if tt.kind == KindRegistry {
				if got := l.Ref.String(); got != tt.ref {
					t.Errorf("ref %q, want %q", got, tt.ref)
				}
				if got := l.Ref.Context().Registry.Scheme(); got != tt.scheme {
					t.Errorf("scheme %q, want %q", got, tt.scheme)
				}
			} else if back, err := ParseLocation(l.String()); err != nil || back != l {
				t.Errorf("String() %q parses back as %+v, %v", l.String(), back, err)
			}
		})
	}
}

func TestParseLocationErrors(t *testing.T) {
	for _, in := range []string{"", "oci:", "docker-archive:", "oci::tag", "oci-archive:/x.tar", "dir:/x", "UPPER/case:tag", "host/repo@sha256:short",
		// Found by FuzzParseLocation: docker:/// was taken for a Docker Hub
		// repository "/" whose text did not parse back; empty path
		// components the lax parse lets through.
		"docker:///", "docker:///tmp/layout", "a//b", "a/"} {
		if l, err := ParseLocation(in); !errors.Is(err, ErrBadLocation) {
			t.Errorf("ParseLocation(%q) = %+v, %v; want ErrBadLocation", in, l, err)
		}
	}
}

func sixtyFour(c byte) string {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return string(b)
}

// TestParseLocationPath: a path given without oci: or docker-archive: is
// refused naming both forms, not taken for a Docker Hub repository (which
// the lax parse would make of "/tmp/layout" or an existing "dir/app.tar").
func TestParseLocationPath(t *testing.T) {
	dir := t.TempDir()
	archive := filepath.Join(dir, "app.tar")
	if err := os.WriteFile(archive, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// "location_test.go": an existing file named without ./ (a bare name
	// that also parses as a Docker Hub repository).
	for _, in := range []string{"/tmp/layout", "./layout", "../x/app.tar", "~/layout", archive, "location_test.go"} {
		l, err := ParseLocation(in)
		if !errors.Is(err, ErrBadLocation) || !errors.Is(err, ErrBarePath) || !strings.HasPrefix(err.Error(), "not an image location: ") || !strings.Contains(err.Error(), "oci:"+in) || !strings.Contains(err.Error(), "docker-archive:"+in) {
			t.Errorf("ParseLocation(%q) = %+v, %v; want ErrBadLocation and ErrBarePath naming oci:%s and docker-archive:%s", in, l, err, in, in)
		}
	}
	// References that are not paths still parse (Docker Hub short names).
	for _, in := range []string{"alpine", "win/app", "127.0.0.1:5000/app"} {
		if l, err := ParseLocation(in); err != nil || l.Kind != KindRegistry {
			t.Errorf("ParseLocation(%q) = %+v, %v; want a registry reference", in, l, err)
		}
	}
}
