package imagetest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/winlayer/winlayer/layer"
)

// committed is the sample as committed in the repository.
const committed = "../../testdata/image"

// readTree reads every regular file under dir, by slash path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestSampleUpToDate regenerates the sample into a temporary directory and
// compares it, file for file and byte for byte, with the committed one.
func TestSampleUpToDate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "image")
	if _, err := WriteLayout(dir); err != nil {
		t.Fatal(err)
	}
	got, want := readTree(t, dir), readTree(t, committed)
	for name, b := range got {
		w, ok := want[name]
		switch {
		case !ok:
			t.Errorf("%s: generated, not committed", name)
		case !bytes.Equal(b, w):
			t.Errorf("%s: generated %d bytes differ from the committed %d bytes", name, len(b), len(w))
		}
	}
	for name := range want {
		if _, ok := got[name]; !ok {
			t.Errorf("%s: committed, no longer generated", name)
		}
	}
	if t.Failed() {
		t.Log("the committed sample is stale: run go generate ./image/imagetest")
	}
	var total int
	for _, b := range want {
		total += len(b)
	}
	if total > 300<<10 {
		t.Errorf("the sample takes %d bytes; keep it under 300 KiB", total)
	}
}

func TestWriteLayoutRefusesNonEmpty(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "stale"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteLayout(dir); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("WriteLayout into a non-empty directory: %v, want ErrNotEmpty", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) != 1 {
		t.Fatalf("the directory was changed: %v %v", ents, err)
	}
}

// TestSampleLayout reads the committed layout with go-containerregistry
// and checks it is valid (every digest, size and DiffID) and has the shape
// the tests rely on.
func TestSampleLayout(t *testing.T) {
	s, err := NewSample()
	if err != nil {
		t.Fatal(err)
	}
	p, err := layout.FromPath(committed)
	if err != nil {
		t.Fatal(err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	tm, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.Manifests) != 1 || tm.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != SampleTag || tm.Manifests[0].Digest != s.IndexDigest {
		t.Fatalf("index.json: %+v, want one entry: the sample index %s tagged %q", tm.Manifests, s.IndexDigest, SampleTag)
	}
	idx, err := top.ImageIndex(s.IndexDigest)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(idx); err != nil {
		t.Fatalf("validate: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	wantVersions := []string{OSVersion2019, OSVersion2022}
	if len(im.Manifests) != len(wantVersions) {
		t.Fatalf("index has %d manifests, want %d", len(im.Manifests), len(wantVersions))
	}
	for i, d := range im.Manifests {
		if d.Platform == nil || d.Platform.OS != "windows" || d.Platform.Architecture != "amd64" || d.Platform.OSVersion != wantVersions[i] {
			t.Errorf("manifest %d: platform %+v, want windows/amd64 %s", i, d.Platform, wantVersions[i])
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.OS != "windows" || cf.OSVersion != wantVersions[i] || len(cf.RootFS.DiffIDs) != 2 {
			t.Errorf("manifest %d: config os %q os.version %q, %d diff_ids; want windows %s, 2", i, cf.OS, cf.OSVersion, len(cf.RootFS.DiffIDs), wantVersions[i])
		}
		ls, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		for j, l := range ls {
			if mt, err := l.MediaType(); err != nil || mt != "application/vnd.oci.image.layer.v1.tar+gzip" {
				t.Errorf("manifest %d layer %d: media type %q (%v), want gzip OCI layer", i, j, mt, err)
			}
		}
	}
	if a, b := s.Images[0].Layers, s.Images[1].Layers; a[0].Digest == b[0].Digest || a[1].Digest != b[1].Digest {
		t.Errorf("want different bases and a shared upper layer: bases %s %s, uppers %s %s", a[0].Digest, b[0].Digest, a[1].Digest, b[1].Digest)
	}
}

// TestSampleContent checks that the layers carry what the sample is for:
// the base Files, Hives and the four UtilityVM BCD files; the upper an
// alternate data stream, whiteouts and a hard link.
func TestSampleContent(t *testing.T) {
	s, err := NewSample()
	if err != nil {
		t.Fatal(err)
	}
	kinds := func(tarBytes []byte) map[string]bool {
		k := map[string]bool{}
		tr := tar.NewReader(bytes.NewReader(tarBytes))
		for {
			h, err := tr.Next()
			if err == io.EOF {
				return k
			}
			if err != nil {
				t.Fatal(err)
			}
			base := h.Name[strings.LastIndex(h.Name, "/")+1:]
			switch {
			case h.Typeflag == tar.TypeLink:
				k["hardlink"] = true
			case strings.HasPrefix(base, ".wh."):
				k["whiteout"] = true
			case strings.Contains(base, ":"):
				k["ads"] = true
			case strings.HasPrefix(h.Name, "Files/"):
				k["files"] = true
			case strings.HasPrefix(h.Name, "Hives/"):
				k["hives"] = true
			case strings.HasPrefix(h.Name, "UtilityVM/Files/EFI/Microsoft/Boot/BCD"):
				k[h.Name] = true
			}
			for key := range h.PAXRecords {
				if strings.HasPrefix(key, "MSWINDOWS.xattr.") {
					k["ea"] = true
				}
			}
		}
	}
	for _, img := range s.Images {
		base, app := kinds(img.Layers[0].Tar), kinds(img.Layers[1].Tar)
		for _, want := range []string{"files", "hives", "UtilityVM/Files/EFI/Microsoft/Boot/BCD", "UtilityVM/Files/EFI/Microsoft/Boot/BCD.LOG",
			"UtilityVM/Files/EFI/Microsoft/Boot/BCD.LOG1", "UtilityVM/Files/EFI/Microsoft/Boot/BCD.LOG2"} {
			if !base[want] {
				t.Errorf("%s: base has no %s", img.Platform.OSVersion, want)
			}
		}
		for _, want := range []string{"files", "hives", "ads", "ea", "whiteout", "hardlink"} {
			if !app[want] {
				t.Errorf("%s: upper layer has no %s", img.Platform.OSVersion, want)
			}
		}
	}
}

// TestSampleRoundTrip imports every image's layers into a layer store
// under their ChainIDs, the upper on its base, and checks that each
// layer's export is the uncompressed blob byte for byte (sha256 = DiffID).
func TestSampleRoundTrip(t *testing.T) {
	s, err := NewSample()
	if err != nil {
		t.Fatal(err)
	}
	st, err := layer.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, img := range s.Images {
		ids := img.ChainIDs()
		for i, l := range img.Layers {
			id := ids[i].Hex
			var parents []string
			if i > 0 {
				parents = []string{st.Dir(ids[i-1].Hex)}
			}
			if _, err := st.Import(ctx, id, parents, bytes.NewReader(l.Tar)); err != nil {
				t.Fatalf("%s: layer %s: %v", img.Platform.OSVersion, l.Name, err)
			}
			rc, err := st.Export(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			_, err = io.Copy(h, rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != l.DiffID.String() {
				t.Errorf("%s: layer %s (%s): export %s, want the DiffID %s", img.Platform.OSVersion, l.Name, id, got, l.DiffID)
			}
		}
	}
	infos, err := st.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 4 {
		t.Errorf("the store has %d layers, want 4 (two bases, the upper on each)", len(infos))
	}
}

func TestChainIDs(t *testing.T) {
	h := func(s string) v1.Hash { return v1.Hash{Algorithm: "sha256", Hex: s} }
	a := strings.Repeat("a", 64)
	b := strings.Repeat("b", 64)
	img := &Image{Layers: []*Layer{{DiffID: h(a)}, {DiffID: h(b)}}}
	sum := sha256.Sum256([]byte("sha256:" + a + " sha256:" + b))
	want := []v1.Hash{h(a), h(hex.EncodeToString(sum[:]))}
	got := img.ChainIDs()
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("ChainIDs = %v, want %v", got, want)
	}
}
