// Package imagetest builds the bundled sample Windows image (testdata/image
// of the repository) and gives tests its parts: a small image index with
// two Windows platforms whose layers are made by the project's own layer
// builders (package layertest).
//
// The sample is deterministic: [WriteLayout] writes the same bytes on every
// run, and the committed copy is checked against it by this package's
// tests. Regenerate it after changing this file with
//
//	go generate ./image/imagetest
package imagetest

//go:generate go run ./mksample ../../testdata/image

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/klauspost/compress/gzip"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/winlayer/winlayer/layer/layertest"
)

// SampleTag is the org.opencontainers.image.ref.name of the sample's index
// in its layout: "oci:testdata/image:SampleTag" and "oci:testdata/image"
// both name it.
const SampleTag = "latest"

// The two platforms of the sample index.
const (
	// OSVersion2019 is the os.version of the Windows Server 2019 image.
	OSVersion2019 = "10.0.17763.5329"
	// OSVersion2022 is the os.version of the Windows Server 2022 image.
	OSVersion2022 = "10.0.20348.2227"
)

// Layer is one layer of the sample.
type Layer struct {
	// Name says what the layer is ("base-17763", "app").
	Name string
	// Tar is the uncompressed layer tar; DiffID its sha256.
	Tar    []byte
	DiffID v1.Hash
	// Blob is the gzip-compressed tar as the layout stores it; Digest its
	// sha256.
	Blob   []byte
	Digest v1.Hash
}

// Image is one platform's image of the sample.
type Image struct {
	// Platform is the index entry's platform.
	Platform v1.Platform
	// Layers are the image's layers, base first.
	Layers []*Layer
	// Config and Manifest are the raw blobs; ConfigDigest and
	// ManifestDigest their sha256.
	Config         []byte
	ConfigDigest   v1.Hash
	Manifest       []byte
	ManifestDigest v1.Hash
}

// ChainIDs returns the image's layer ChainIDs (the store layer ids of its
// layers), base first: the base's DiffID, then sha256 of the parent's
// ChainID, a space and the DiffID.
func (img *Image) ChainIDs() []v1.Hash {
	var ids []v1.Hash
	for i, l := range img.Layers {
		if i == 0 {
			ids = append(ids, l.DiffID)
			continue
		}
		ids = append(ids, sha256Hash([]byte(ids[i-1].String()+" "+l.DiffID.String())))
	}
	return ids
}

// Sample is the sample image index.
type Sample struct {
	// Images are the index's manifests, in index order: Windows Server
	// 2019 (OSVersion2019), then 2022 (OSVersion2022). They share the
	// upper layer's blob, not the base.
	Images []*Image
	// Index is the raw image index; IndexDigest its sha256.
	Index       []byte
	IndexDigest v1.Hash
}

// Layers returns the distinct layers of the sample, in the order they
// first appear.
func (s *Sample) Layers() []*Layer {
	var ls []*Layer
	seen := map[*Layer]bool{}
	for _, img := range s.Images {
		for _, l := range img.Layers {
			if !seen[l] {
				seen[l] = true
				ls = append(ls, l)
			}
		}
	}
	return ls
}

// Blobs returns every blob of the sample by digest: layers, configs,
// manifests and the index.
func (s *Sample) Blobs() map[v1.Hash][]byte {
	m := map[v1.Hash][]byte{s.IndexDigest: s.Index}
	for _, img := range s.Images {
		m[img.ManifestDigest] = img.Manifest
		m[img.ConfigDigest] = img.Config
		for _, l := range img.Layers {
			m[l.Digest] = l.Blob
		}
	}
	return m
}

// created is the creation time of everything in the sample.
var created = time.Date(2024, 1, 9, 18, 0, 0, 0, time.UTC)

// NewSample builds the sample. It is deterministic: every call gives the
// same bytes.
func NewSample() (*Sample, error) {
	app, err := newLayer("app", appLayer())
	if err != nil {
		return nil, err
	}
	s := &Sample{}
	for _, v := range []struct {
		osVersion string
		seed      uint64
	}{{OSVersion2019, 17763}, {OSVersion2022, 20348}} {
		base, err := newLayer("base-"+v.osVersion, baseLayer(v.osVersion, v.seed))
		if err != nil {
			return nil, err
		}
		img, err := newImage(v.osVersion, []*Layer{base, app})
		if err != nil {
			return nil, err
		}
		s.Images = append(s.Images, img)
	}
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	for _, img := range s.Images {
		pl := img.Platform
		idx.Manifests = append(idx.Manifests, v1.Descriptor{
			MediaType: types.OCIManifestSchema1,
			Size:      int64(len(img.Manifest)),
			Digest:    img.ManifestDigest,
			Platform:  &pl,
		})
	}
	if s.Index, err = json.Marshal(idx); err != nil {
		return nil, err
	}
	s.IndexDigest = sha256Hash(s.Index)
	return s, nil
}

// newLayer compresses a layer tar with gzip (klauspost's, best
// compression, no name and no time in the header, so the bytes are the
// same on every run with one version of the library).
func newLayer(name string, tarBytes []byte) (*Layer, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(tarBytes); err != nil {
		return nil, fmt.Errorf("sample layer %s: %w", name, err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("sample layer %s: %w", name, err)
	}
	return &Layer{Name: name, Tar: tarBytes, DiffID: sha256Hash(tarBytes), Blob: buf.Bytes(), Digest: sha256Hash(buf.Bytes())}, nil
}

// newImage makes the config and manifest of one platform's image.
func newImage(osVersion string, layers []*Layer) (*Image, error) {
	img := &Image{
		Platform: v1.Platform{OS: "windows", Architecture: "amd64", OSVersion: osVersion},
		Layers:   layers,
	}
	cfg := v1.ConfigFile{
		Architecture: "amd64",
		OS:           "windows",
		OSVersion:    osVersion,
		Created:      v1.Time{Time: created},
		RootFS:       v1.RootFS{Type: "layers"},
		Config: v1.Config{
			Cmd:        []string{`C:\app\app.exe`},
			Env:        []string{`PATH=C:\Windows\system32;C:\Windows;C:\app`},
			WorkingDir: `C:\app`,
			Labels:     map[string]string{"org.opencontainers.image.title": "winlayer sample"},
		},
		History: []v1.History{
			{Created: v1.Time{Time: created}, CreatedBy: "Apply image " + osVersion},
			{Created: v1.Time{Time: created}, CreatedBy: `cmd /S /C #(nop) COPY dir:app in C:\app`},
		},
	}
	for _, l := range layers {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, l.DiffID)
	}
	var err error
	if img.Config, err = json.Marshal(cfg); err != nil {
		return nil, err
	}
	img.ConfigDigest = sha256Hash(img.Config)
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        v1.Descriptor{MediaType: types.OCIConfigJSON, Size: int64(len(img.Config)), Digest: img.ConfigDigest},
	}
	for _, l := range layers {
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: types.OCILayer, Size: int64(len(l.Blob)), Digest: l.Digest})
	}
	if img.Manifest, err = json.Marshal(m); err != nil {
		return nil, err
	}
	img.ManifestDigest = sha256Hash(img.Manifest)
	return img, nil
}

func sha256Hash(b []byte) v1.Hash {
	sum := sha256.Sum256(b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
}

// text returns deterministic text of about n bytes (so that it compresses
// as real files do), different for each seed.
func text(seed uint64, n int) []byte {
	words := []string{"Windows", "Server", "Core", "container", "layer", "System32", "registry", "hive",
		"service", "driver", "kernel", "module", "manifest", "assembly", "policy", "update"}
	var b bytes.Buffer
	r := layertest.Bytes(seed, n)
	for i := 0; b.Len() < n; i++ {
		b.WriteString(words[int(r[i%len(r)])%len(words)])
		if i%12 == 11 {
			b.WriteString("\r\n")
		} else {
			b.WriteByte(' ')
		}
	}
	return b.Bytes()[:n]
}

// binary returns n bytes that look like an executable: a header, runs of
// zeros, some text, some noise.
func binary(seed uint64, n int) []byte {
	b := make([]byte, 0, n)
	b = append(b, "MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"...)
	for len(b) < n {
		b = append(b, make([]byte, 64)...)
		b = append(b, text(seed+uint64(len(b)), 200)...)
		b = append(b, layertest.Bytes(seed^uint64(len(b)), 96)...)
	}
	return b[:n]
}

// baseLayer is a Windows base layer: Files with a small System32, Hives,
// and the UtilityVM with its four BCD files.
func baseLayer(osVersion string, seed uint64) []byte {
	d := layertest.Dir
	f := layertest.File
	return layertest.Tar(
		d("Files"),
		f("Files/License.txt", text(seed+1, 1500)),
		d("Files/ProgramData"),
		d("Files/ProgramData/Cache"),
		f("Files/ProgramData/Cache/setup.log", text(seed+2, 700)),
		d("Files/Users"),
		d("Files/Users/Public"),
		d("Files/Windows"),
		f("Files/Windows/win.ini", []byte("; for 16-bit app support\r\n[fonts]\r\n[extensions]\r\n")),
		d("Files/Windows/System32"),
		f("Files/Windows/System32/cmd.exe", binary(seed+3, 9000)),
		f("Files/Windows/System32/kernel32.dll", binary(seed+4, 12000)),
		f("Files/Windows/System32/ntdll.dll", binary(seed+5, 14000)),
		f("Files/Windows/System32/version.txt", []byte("Microsoft Windows [Version "+osVersion+"]\r\n")),
		d("Files/Windows/System32/config"),
		f("Files/Windows/System32/config/empty.dat", nil),
		d("Files/Windows/System32/drivers"),
		d("Files/Windows/System32/drivers/etc"),
		f("Files/Windows/System32/drivers/etc/hosts", []byte("# Copyright (c) 1993-2009 Microsoft Corp.\r\n#\r\n127.0.0.1 localhost\r\n")),
		d("Files/Windows/Temp"),
		f("Files/Windows/Temp/install.tmp", text(seed+6, 400)),
		d("Hives"),
		f("Hives/DefaultUser_Delta", hive(seed+7)),
		f("Hives/Sam_Delta", hive(seed+8)),
		f("Hives/Security_Delta", hive(seed+9)),
		f("Hives/Software_Delta", hive(seed+10)),
		f("Hives/System_Delta", hive(seed+11)),
		d("UtilityVM"),
		d("UtilityVM/Files"),
		d("UtilityVM/Files/EFI"),
		d("UtilityVM/Files/EFI/Microsoft"),
		d("UtilityVM/Files/EFI/Microsoft/Boot"),
		f("UtilityVM/Files/EFI/Microsoft/Boot/BCD", hive(seed+12)),
		f("UtilityVM/Files/EFI/Microsoft/Boot/BCD.LOG", nil),
		f("UtilityVM/Files/EFI/Microsoft/Boot/BCD.LOG1", text(seed+13, 512)),
		f("UtilityVM/Files/EFI/Microsoft/Boot/BCD.LOG2", nil),
		d("UtilityVM/Files/Windows"),
		f("UtilityVM/Files/Windows/bootmgr", binary(seed+14, 4000)),
	)
}

// hive returns the bytes of a small registry hive ("regf" header, then
// mostly empty bins, as real delta hives are).
func hive(seed uint64) []byte {
	b := make([]byte, 8192)
	copy(b, "regf")
	copy(b[4096:], "hbin")
	copy(b[4128:], text(seed, 300))
	return b
}

// appLayer is the layer an application adds on top of a base: a new
// directory with an executable carrying an alternate data stream (the
// Zone.Identifier a download gets) and an extended attribute, a hard link
// to it, a changed file, a changed hive, and whiteouts of a base file and
// of a base directory.
func appLayer() []byte {
	zone := []byte("[ZoneTransfer]\r\nZoneId=3\r\nReferrerUrl=https://example.com/\r\n")
	return layertest.Tar(
		layertest.Dir("Files"),
		layertest.Dir("Files/app"),
		layertest.Entry{Name: "Files/app/app.exe", Type: tar.TypeReg, Data: binary(4242, 6000),
			PAX: map[string]string{"MSWINDOWS.xattr.user.origin": base64.StdEncoding.EncodeToString([]byte("winlayer sample"))}},
		layertest.File("Files/app/app.exe:Zone.Identifier", zone),
		layertest.File("Files/app/README.txt", text(4243, 900)),
		layertest.Entry{Name: "Files/app/run.exe", Type: tar.TypeLink, Link: "Files/app/app.exe"},
		layertest.Dir("Files/Windows"),
		layertest.Dir("Files/Windows/System32"),
		layertest.Dir("Files/Windows/System32/drivers"),
		layertest.Dir("Files/Windows/System32/drivers/etc"),
		layertest.File("Files/Windows/System32/drivers/etc/hosts", []byte("# Copyright (c) 1993-2009 Microsoft Corp.\r\n#\r\n127.0.0.1 localhost\r\n10.0.0.5 db\r\n")),
		layertest.Dir("Files/Windows/Temp"),
		layertest.Entry{Name: "Files/Windows/Temp/.wh.install.tmp", NoMeta: true},
		layertest.Dir("Files/ProgramData"),
		layertest.Entry{Name: "Files/ProgramData/.wh.Cache", NoMeta: true},
		layertest.Dir("Hives"),
		layertest.File("Hives/Software_Delta", hive(4244)),
	)
}
