package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/sync/errgroup"
)

// pullOSVersion is the os.version of the benchmark's image.
const pullOSVersion = "10.0.20348.2227"

// pullLayerSpec is one layer of the pull benchmark's image: a generated
// layer tar of Kind at Scale (times --scale), with Salt.
type pullLayerSpec struct {
	Kind  string
	Salt  string
	Scale float64
}

// pullLayers are the image's layers, base first: at --scale 1 about
// 1.1 GiB of tar (512 MiB mix, 25,000 small files, 256 MiB mix, one
// 256 MiB file), all with compressible content.
var pullLayers = []pullLayerSpec{
	{KindMix, "", 0.5},
	{KindSmall, "", 0.25},
	{KindMix, "-2", 0.25},
	{KindLarge, "", 0.25},
}

// blobFile is a compressed layer blob on disk.
type blobFile struct {
	Path      string          `json:"path"`
	Digest    v1.Hash         `json:"digest"`
	Size      int64           `json:"size"`
	MediaType types.MediaType `json:"media_type"`
}

// pullLayer is one generated layer: its tar's stats (SHA256 is the DiffID)
// and its gzip and zstd blobs.
type pullLayer struct {
	Gen  GenStats `json:"input"`
	Gzip blobFile `json:"gzip"`
	Zstd blobFile `json:"zstd"`
}

// DiffID is the layer's DiffID.
func (l pullLayer) DiffID() v1.Hash { return v1.Hash{Algorithm: "sha256", Hex: l.Gen.SHA256} }

// hashFile writes to a file and hashes and counts what it writes.
type hashFile struct {
	f *os.File
	h hash.Hash
	n int64
}

func (w *hashFile) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	return n, err
}

func (w *hashFile) blob(mt types.MediaType) blobFile {
	return blobFile{Path: w.f.Name(), Digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(w.h.Sum(nil))}, Size: w.n, MediaType: mt}
}

// makePullLayers generates the image's layer tars and compresses each,
// in the same pass, to a gzip blob (default level, as docker pushes) and
// a zstd blob (default level) in dir; two layers at a time.
func makePullLayers(ctx context.Context, dir string, scale float64) ([]pullLayer, error) {
	layers := make([]pullLayer, len(pullLayers))
	var g errgroup.Group
	g.SetLimit(2)
	for i, spec := range pullLayers {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			l, err := makePullLayer(filepath.Join(dir, fmt.Sprintf("layer-%d", i+1)), spec, scale)
			if err != nil {
				return fmt.Errorf("layer %d (%s): %w", i+1, spec.Kind, err)
			}
			layers[i] = l
			return nil
		})
	}
	return layers, g.Wait()
}

func makePullLayer(prefix string, spec pullLayerSpec, scale float64) (l pullLayer, err error) {
	gzf, err := os.Create(prefix + ".tar.gz")
	if err != nil {
		return l, err
	}
	defer gzf.Close()
	zsf, err := os.Create(prefix + ".tar.zst")
	if err != nil {
		return l, err
	}
	defer zsf.Close()
	gzh := &hashFile{f: gzf, h: sha256.New()}
	zsh := &hashFile{f: zsf, h: sha256.New()}
	gz := gzip.NewWriter(gzh)
	zs, err := zstd.NewWriter(zsh, zstd.WithEncoderConcurrency(1))
	if err != nil {
		return l, err
	}
	l.Gen, err = GenerateWith(io.MultiWriter(gz, zs), spec.Kind, spec.Scale*scale, GenOptions{Salt: spec.Salt, Compressible: true})
	if err != nil {
		return l, err
	}
	if err := gz.Close(); err != nil {
		return l, err
	}
	if err := zs.Close(); err != nil {
		return l, err
	}
	l.Gzip, l.Zstd = gzh.blob(types.OCILayer), zsh.blob(types.OCILayerZStd)
	return l, nil
}

// benchImage is the benchmark's image with one of the two compressions,
// as go-containerregistry's partial.CompressedImageCore.
type benchImage struct {
	config, manifest []byte
	blobs            map[v1.Hash]blobFile
}

// newBenchImage makes the config and manifest of the image whose layers
// are the gzip (zstd false) or zstd blobs.
func newBenchImage(layers []pullLayer, zstdLayers bool) (v1.Image, error) {
	created := v1.Time{Time: time.Date(2024, 5, 14, 9, 30, 0, 0, time.UTC)}
	cfg := v1.ConfigFile{
		Architecture: "amd64", OS: "windows", OSVersion: pullOSVersion, Created: created,
		RootFS: v1.RootFS{Type: "layers"},
		Config: v1.Config{Cmd: []string{`C:\Windows\System32\cmd.exe`}},
	}
	for i, l := range layers {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, l.DiffID())
		cfg.History = append(cfg.History, v1.History{Created: created, CreatedBy: fmt.Sprintf("winbench layer %d (%s)", i+1, l.Gen.Kind)})
	}
	img := &benchImage{blobs: map[v1.Hash]blobFile{}}
	var err error
	if img.config, err = json.Marshal(cfg); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(img.config)
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config: v1.Descriptor{MediaType: types.OCIConfigJSON, Size: int64(len(img.config)),
			Digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}},
	}
	for _, l := range layers {
		b := l.Gzip
		if zstdLayers {
			b = l.Zstd
		}
		img.blobs[b.Digest] = b
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: b.MediaType, Size: b.Size, Digest: b.Digest})
	}
	if img.manifest, err = json.Marshal(m); err != nil {
		return nil, err
	}
	return partial.CompressedToImage(img)
}

// RawConfigFile implements partial.CompressedImageCore.
func (img *benchImage) RawConfigFile() ([]byte, error) { return img.config, nil }

// MediaType implements partial.CompressedImageCore.
func (img *benchImage) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// RawManifest implements partial.CompressedImageCore.
func (img *benchImage) RawManifest() ([]byte, error) { return img.manifest, nil }

// LayerByDigest implements partial.CompressedImageCore.
func (img *benchImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	b, ok := img.blobs[h]
	if !ok {
		return nil, fmt.Errorf("no layer %s", h)
	}
	return blobLayer{b}, nil
}

// blobLayer is a blobFile as a partial.CompressedLayer.
type blobLayer struct{ b blobFile }

// Digest implements partial.CompressedLayer.
func (l blobLayer) Digest() (v1.Hash, error) { return l.b.Digest, nil }

// Size implements partial.CompressedLayer.
func (l blobLayer) Size() (int64, error) { return l.b.Size, nil }

// MediaType implements partial.CompressedLayer.
func (l blobLayer) MediaType() (types.MediaType, error) { return l.b.MediaType, nil }

// Compressed implements partial.CompressedLayer.
func (l blobLayer) Compressed() (io.ReadCloser, error) { return os.Open(l.b.Path) }

// pushBenchImages pushes the gzip and the zstd image to the registry at
// host as winbench/pull:gzip and winbench/pull:zstd, and returns their
// references.
func pushBenchImages(ctx context.Context, host string, layers []pullLayer) (gzipRef, zstdRef string, err error) {
	for _, z := range []bool{false, true} {
		tag := "gzip"
		if z {
			tag = "zstd"
		}
		ref, err := name.ParseReference(host + "/winbench/pull:" + tag)
		if err != nil {
			return "", "", err
		}
		img, err := newBenchImage(layers, z)
		if err != nil {
			return "", "", err
		}
		if err := remote.Write(ref, img, remote.WithContext(ctx), remote.WithJobs(4)); err != nil {
			return "", "", fmt.Errorf("push %s: %w", ref, err)
		}
		if z {
			zstdRef = ref.String()
		} else {
			gzipRef = ref.String()
		}
	}
	return gzipRef, zstdRef, nil
}
