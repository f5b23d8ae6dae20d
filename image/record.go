package image

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/winlayer/winlayer/layer"
)

// record stores the manifest, config and index blobs and writes the image
// record and its references, under the index lock. Every layer must still
// be in the store (a removal meanwhile fails the pull).
func (s *Store) record(ctx context.Context, p *plan) (*ImageInfo, error) {
	var lrs []LayerRecord
	for _, j := range p.layers {
		lr := LayerRecord{ID: j.id, DiffID: j.diffID.String(), Digest: j.desc.Digest.String(), MediaType: string(j.desc.MediaType), Size: j.desc.Size, URLs: j.desc.URLs}
		lrs = append(lrs, lr)
	}
	if p.manifestRaw == nil {
		if err := s.generateManifest(ctx, p, lrs); err != nil {
			return nil, err
		}
	}
	md := sha256Of(p.manifestRaw)
	cd := sha256Of(p.configRaw)
	rec := &Record{
		ManifestDigest: md.String(), ManifestMediaType: string(p.manifestMT), ConfigDigest: cd.String(),
		Platform: p.config.Platform(), Source: p.source, Repository: p.repository, Layers: lrs,
		Created: time.Now().UTC(), GeneratedManifest: p.generated(),
	}
	blobs := map[v1.Hash][]byte{md: p.manifestRaw, cd: p.configRaw}
	if p.indexRaw != nil {
		id := sha256Of(p.indexRaw)
		blobs[id] = p.indexRaw
		rec.IndexDigest, rec.IndexMediaType = id.String(), string(p.indexMT)
	}
	var info *ImageInfo
	// Under the index lock, so that a removal's collection (which holds it
	// too) cannot drop these blobs between their writing and the record.
	err := s.update(func(ix *indexFile) error {
		for _, j := range p.layers {
			if !s.layers.Exists(j.id) {
				return fmt.Errorf("%s %s: layer %d %s was removed while the pull ran; pull again: %w", p.verb, p.what, j.i, j.id, layer.ErrNotExist)
			}
		}
		for d, b := range blobs {
			if err := s.putBlob(d, b); err != nil {
				return fmt.Errorf("%s %s: %w", p.verb, p.what, err)
			}
		}
		key := rec.ManifestDigest
		if old, ok := ix.Images[key]; ok {
			rec.Created = old.Created
		}
		ix.Images[key] = rec
		for _, l := range rec.Layers {
			ix.Owned[l.ID] = true
		}
		for _, r := range p.refs {
			ix.Refs[r] = key
		}
		info = &ImageInfo{Record: *rec, References: ix.refsOf(key)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return info, nil
}

// generated reports whether the plan's manifest was written by winlayer.
func (p *plan) generated() bool { return p.manifestMT == "" || p.genManifest }

// generateManifest writes a Docker schema 2 manifest for an image that
// came without one (a docker-archive): each layer as it was read — a
// compressed blob by its digest, an uncompressed tar by its DiffID, a
// foreign layer by its LayerSources descriptor.
func (s *Store) generateManifest(ctx context.Context, p *plan, lrs []LayerRecord) error {
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.DockerManifestSchema2,
		Config:        v1.Descriptor{MediaType: types.DockerConfigJSON, Size: int64(len(p.configRaw)), Digest: sha256Of(p.configRaw)},
	}
	for i, j := range p.layers {
		d := j.desc
		if d.Digest.Hex == "" && j.digest.Hex == "" && j.describe != nil {
			// Present before the load: describe the archive's file.
			var err error
			if j.comp, j.digest, j.size, err = j.describe(); err != nil {
				return fmt.Errorf("%s %s: layer %d: %w", p.verb, p.what, i, err)
			}
		}
		if d.Digest.Hex == "" {
			switch {
			case j.comp == CompressionGzip && j.digest.Hex != "":
				d = v1.Descriptor{MediaType: types.DockerLayer, Digest: j.digest, Size: j.size}
			case j.comp == CompressionZstd && j.digest.Hex != "":
				d = v1.Descriptor{MediaType: types.OCILayerZStd, Digest: j.digest, Size: j.size}
			default:
				// An uncompressed tar, or a layer that was in the store
				// already: the blob is the tar, which the export gives back.
				m, err := s.layers.Meta(ctx, j.id)
				if err != nil {
					return fmt.Errorf("%s %s: layer %d: %w", p.verb, p.what, i, err)
				}
				d = v1.Descriptor{MediaType: types.DockerUncompressedLayer, Digest: j.diffID, Size: m.TarSize}
			}
		}
		m.Layers = append(m.Layers, d)
		lrs[i].Digest, lrs[i].MediaType, lrs[i].Size = d.Digest.String(), string(d.MediaType), d.Size
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	p.manifestRaw, p.manifestMT, p.genManifest = b, types.DockerManifestSchema2, true
	return nil
}
