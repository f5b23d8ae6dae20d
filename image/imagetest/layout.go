package imagetest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// ErrNotEmpty is returned by WriteLayout for a directory that already has
// something in it (stale blobs would stay beside the new ones).
var ErrNotEmpty = errors.New("directory is not empty")

// WriteLayout writes the sample as an OCI image layout in dir, which must
// not exist or be empty: blobs/sha256/ holds every blob, and index.json one
// entry, the sample's image index, annotated with
// org.opencontainers.image.ref.name = SampleTag (the form skopeo copy --all
// writes for oci:DIR:TAG).
func WriteLayout(dir string) (*Sample, error) {
	s, err := NewSample()
	if err != nil {
		return nil, err
	}
	return s, s.WriteLayout(dir)
}

// WriteLayout writes s as an OCI image layout in dir (see [WriteLayout]).
func (s *Sample) WriteLayout(dir string) error {
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return fmt.Errorf("write sample layout %s: %w", dir, ErrNotEmpty)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("write sample layout: %w", err)
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("write sample layout %s: %w", dir, err)
	}
	for h, b := range s.Blobs() {
		if err := p.WriteBlob(h, io.NopCloser(bytes.NewReader(b))); err != nil {
			return fmt.Errorf("write sample layout %s: blob %s: %w", dir, h, err)
		}
	}
	desc := v1.Descriptor{
		MediaType:   "application/vnd.oci.image.index.v1+json",
		Size:        int64(len(s.Index)),
		Digest:      s.IndexDigest,
		Annotations: map[string]string{"org.opencontainers.image.ref.name": SampleTag},
	}
	if err := p.AppendDescriptor(desc); err != nil {
		return fmt.Errorf("write sample layout %s: index.json: %w", dir, err)
	}
	// go-containerregistry writes these two with mode 0777 (less umask).
	for _, name := range []string{"oci-layout", "index.json"} {
		if err := os.Chmod(filepath.Join(dir, name), 0o644); err != nil {
			return fmt.Errorf("write sample layout %s: %w", dir, err)
		}
	}
	return nil
}
