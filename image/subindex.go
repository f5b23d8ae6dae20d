package image

import (
	"bytes"
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// subIndex is an image index made of some entries of another index (the
// entries of an OCI layout that share one ref.name): its manifest is
// generated, its images and indexes come from the parent.
type subIndex struct {
	parent v1.ImageIndex
	im     *v1.IndexManifest
	raw    []byte
}

var _ v1.ImageIndex = (*subIndex)(nil)

func newSubIndex(parent v1.ImageIndex, ds []v1.Descriptor) (*subIndex, error) {
	im := &v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: ds}
	raw, err := json.Marshal(im)
	if err != nil {
		return nil, fmt.Errorf("index of %d entries: %w", len(ds), err)
	}
	return &subIndex{parent: parent, im: im, raw: raw}, nil
}

// MediaType implements v1.ImageIndex.
func (s *subIndex) MediaType() (types.MediaType, error) { return s.im.MediaType, nil }

// Digest implements v1.ImageIndex.
func (s *subIndex) Digest() (v1.Hash, error) {
	h, _, err := v1.SHA256(bytes.NewReader(s.raw))
	return h, err
}

// Size implements v1.ImageIndex.
func (s *subIndex) Size() (int64, error) { return int64(len(s.raw)), nil }

// IndexManifest implements v1.ImageIndex.
func (s *subIndex) IndexManifest() (*v1.IndexManifest, error) { return s.im.DeepCopy(), nil }

// RawManifest implements v1.ImageIndex.
func (s *subIndex) RawManifest() ([]byte, error) { return s.raw, nil }

// Image implements v1.ImageIndex.
func (s *subIndex) Image(h v1.Hash) (v1.Image, error) { return s.parent.Image(h) }

// ImageIndex implements v1.ImageIndex.
func (s *subIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) { return s.parent.ImageIndex(h) }
