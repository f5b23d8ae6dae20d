package image

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// trackedLayer is a layer whose compressed reads are counted, and whose
// media type may be shown differently to go-containerregistry's writers
// (to make them skip a non-distributable layer they do not recognise).
type trackedLayer struct {
	v1.Layer
	t  *tracker
	mt types.MediaType
}

func (l *trackedLayer) MediaType() (types.MediaType, error) {
	if l.mt != "" {
		return l.mt, nil
	}
	return l.Layer.MediaType()
}

func (l *trackedLayer) Compressed() (io.ReadCloser, error) {
	d, err := l.Layer.Digest()
	if err != nil {
		return nil, err
	}
	size, err := l.Layer.Size()
	if err != nil {
		return nil, err
	}
	rc, err := l.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	return l.t.reader(d, size, rc), nil
}

// prepared is an image as it will be written: its layers tracked (and
// mountable, or renamed for the writers), and, when a layer descriptor had
// to change (--include-foreign), a rewritten manifest.
type prepared struct {
	v1.Image
	layers []v1.Layer
	raw    []byte // the manifest to write
	m      *v1.Manifest
	// urls are the layer descriptors that carry urls in the written manifest.
	urls []v1.Descriptor
	// foreign are the non-distributable layers left out.
	foreign []v1.Descriptor
	// keptForeign are the non-distributable layers written with their
	// descriptors kept.
	keptForeign []v1.Descriptor
}

func (p *prepared) Layers() ([]v1.Layer, error)         { return p.layers, nil }
func (p *prepared) RawManifest() ([]byte, error)        { return p.raw, nil }
func (p *prepared) Manifest() (*v1.Manifest, error)     { return p.m.DeepCopy(), nil }
func (p *prepared) Size() (int64, error)                { return int64(len(p.raw)), nil }
func (p *prepared) MediaType() (types.MediaType, error) { return p.m.MediaType, nil }

func (p *prepared) Digest() (v1.Hash, error) {
	h, _, err := v1.SHA256(bytes.NewReader(p.raw))
	return h, err
}

func (p *prepared) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	for _, l := range p.layers {
		if d, err := l.Digest(); err == nil && d == h {
			return l, nil
		}
	}
	return p.Image.LayerByDigest(h)
}

func (p *prepared) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	cf, err := p.Image.ConfigFile()
	if err != nil {
		return nil, err
	}
	for i, d := range cf.RootFS.DiffIDs {
		if d == h && i < len(p.layers) {
			return p.layers[i], nil
		}
	}
	return p.Image.LayerByDiffID(h)
}

// prepareOptions say how prepareImage changes an image for a destination.
type prepareOptions struct {
	includeForeign bool
	// convertForeign makes included foreign layers ordinary ones (media
	// type, no urls), as registries with default validation need; without
	// it they are written with their descriptors kept.
	convertForeign bool
	// hideForeign shows non-distributable layers to go-containerregistry
	// as Docker foreign layers, which its registry writer skips.
	hideForeign bool
	// mountFrom is the repository the image came from: its layers become
	// mountable when it is on the destination's registry.
	mountFrom *name.Repository
}

// prepareImage readies img for writing (see prepared).
func prepareImage(img v1.Image, t *tracker, o prepareOptions) (*prepared, error) {
	raw, err := img.RawManifest()
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if m.MediaType == "" {
		if m.MediaType, err = img.MediaType(); err != nil {
			return nil, fmt.Errorf("manifest: %w", err)
		}
	}
	ls, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("layers: %w", err)
	}
	if len(ls) != len(m.Layers) {
		return nil, fmt.Errorf("manifest lists %d layers, the image has %d", len(m.Layers), len(ls))
	}
	p := &prepared{Image: img, m: m, raw: raw}
	changed := false
	for i, l := range ls {
		desc := m.Layers[i]
		tl := &trackedLayer{Layer: l, t: t}
		action := ActionPresent
		if IsForeign(desc.MediaType) {
			switch {
			case o.includeForeign && !o.convertForeign:
				// Written with its descriptor kept (a layout may hold
				// non-distributable blobs).
				p.keptForeign = append(p.keptForeign, desc)
			case o.includeForeign:
				mt := distributableMediaType(desc.MediaType)
				t.note(fmt.Sprintf("layer %s: foreign layer included as an ordinary %s layer without its urls; the manifest digest changes", desc.Digest, mt))
				m.Layers[i].MediaType, m.Layers[i].URLs = mt, nil
				tl.mt = mt
				changed = true
			default:
				action = ActionForeign
				p.foreign = append(p.foreign, desc)
				if o.hideForeign {
					tl.mt = types.DockerForeignLayer
				}
			}
		}
		if len(m.Layers[i].URLs) > 0 {
			p.urls = append(p.urls, m.Layers[i])
		}
		t.add(desc.Digest, desc.Size, string(m.Layers[i].MediaType), action)
		var out v1.Layer = tl
		if ml, ok := l.(*remote.MountableLayer); ok {
			out = &remote.MountableLayer{Layer: tl, Reference: ml.Reference}
		} else if o.mountFrom != nil {
			out = &remote.MountableLayer{Layer: tl, Reference: o.mountFrom.Digest(desc.Digest.String())}
		}
		p.layers = append(p.layers, out)
	}
	if len(p.foreign) > 0 {
		t.note(fmt.Sprintf("%d foreign layer(s) not copied, their descriptors kept (use --include-foreign to copy them)", len(p.foreign)))
	}
	if changed {
		if p.raw, err = json.Marshal(m); err != nil {
			return nil, fmt.Errorf("manifest: %w", err)
		}
	}
	return p, nil
}

// preparedIndex is an index as it will be written: its images prepared,
// and its manifest rewritten when a child's digest changed.
type preparedIndex struct {
	raw      []byte
	im       *v1.IndexManifest
	images   map[v1.Hash]*prepared
	indexes  map[v1.Hash]*preparedIndex
	children []any // *prepared or *preparedIndex, in index order
}

func (p *preparedIndex) RawManifest() ([]byte, error)              { return p.raw, nil }
func (p *preparedIndex) IndexManifest() (*v1.IndexManifest, error) { return p.im.DeepCopy(), nil }
func (p *preparedIndex) Size() (int64, error)                      { return int64(len(p.raw)), nil }
func (p *preparedIndex) MediaType() (types.MediaType, error)       { return p.im.MediaType, nil }

func (p *preparedIndex) Digest() (v1.Hash, error) {
	h, _, err := v1.SHA256(bytes.NewReader(p.raw))
	return h, err
}

func (p *preparedIndex) Image(h v1.Hash) (v1.Image, error) {
	if img, ok := p.images[h]; ok {
		return img, nil
	}
	return nil, fmt.Errorf("image %s: not in the index", h)
}

func (p *preparedIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	if idx, ok := p.indexes[h]; ok {
		return idx, nil
	}
	return nil, fmt.Errorf("index %s: not in the index", h)
}

// prepareIndex readies every image of idx (nested indexes included) for
// writing. Entries that are neither images nor indexes are refused.
func prepareIndex(idx v1.ImageIndex, t *tracker, o prepareOptions, depth int) (*preparedIndex, error) {
	if depth > 4 {
		return nil, fmt.Errorf("indexes nested more than 4 deep")
	}
	raw, err := idx.RawManifest()
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	if im.MediaType == "" {
		if im.MediaType, err = idx.MediaType(); err != nil {
			return nil, fmt.Errorf("index: %w", err)
		}
	}
	p := &preparedIndex{im: im, raw: raw,
		images: map[v1.Hash]*prepared{}, indexes: map[v1.Hash]*preparedIndex{}}
	changed := false
	for i, d := range im.Manifests {
		var (
			nd   v1.Hash
			size int64
		)
		switch {
		case d.MediaType.IsImage():
			img, err := idx.Image(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("image %s: %w", d.Digest, err)
			}
			pi, err := prepareImage(img, t, o)
			if err != nil {
				return nil, fmt.Errorf("image %s: %w", d.Digest, err)
			}
			if nd, err = pi.Digest(); err != nil {
				return nil, err
			}
			size = int64(len(pi.raw))
			p.images[nd] = pi
			p.children = append(p.children, pi)
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("index %s: %w", d.Digest, err)
			}
			pc, err := prepareIndex(child, t, o, depth+1)
			if err != nil {
				return nil, fmt.Errorf("index %s: %w", d.Digest, err)
			}
			if nd, err = pc.Digest(); err != nil {
				return nil, err
			}
			size = int64(len(pc.raw))
			p.indexes[nd] = pc
			p.children = append(p.children, pc)
		default:
			return nil, fmt.Errorf("index entry %s: media type %q is neither an image nor an index: %w", d.Digest, d.MediaType, ErrUnknownMediaType)
		}
		if nd != d.Digest {
			im.Manifests[i].Digest, im.Manifests[i].Size = nd, size
			changed = true
		}
	}
	if changed {
		if p.raw, err = json.Marshal(im); err != nil {
			return nil, fmt.Errorf("index: %w", err)
		}
	}
	return p, nil
}
