package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/winlayer/winlayer/image"
)

// isImageArg says whether a verify argument names an image rather than a
// layer tar: oci:, docker-archive: or docker:// in front, or a registry
// reference with an explicit host (a dot, a port or localhost before the
// first slash) that is not an existing file.
func isImageArg(arg string) bool {
	for _, p := range []string{"oci:", "docker-archive:", "docker://"} {
		if strings.HasPrefix(arg, p) {
			return true
		}
	}
	if _, err := os.Stat(arg); err == nil {
		return false
	}
	host, _, ok := strings.Cut(arg, "/")
	return ok && (strings.ContainsAny(host, ".:") || host == "localhost")
}

// imageCheck is the verdict on one image of a verified source.
type imageCheck struct {
	source   string
	platform string
	// Digests: the source's manifest, the pulled record's, the saved copy's.
	sourceDigest, pulledDigest, savedDigest string
	saved                                   string // where the copy went
	layers, layersOK                        int
	problems                                []string
}

func (c *imageCheck) fail(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// verifyImage pulls (or loads) every Windows image of src, or those of
// platforms, into the image store st, shows each with 'image inspect',
// saves it to an OCI layout under savedDir and checks: the pulled and the
// saved manifest digests are the source's, the saved layout's layer
// digests are the source's, and every layer's export hashes to its
// DiffID.
func verifyImage(ctx context.Context, o *options, st *image.Store, savedDir, src string, platforms []string) ([]*imageCheck, error) {
	cfg := image.Config{Jobs: image.DefaultJobs, UserAgent: "winlayer/" + shortVersion()}
	loc, err := cfg.Parse(src)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", src, err)
	}
	source, err := image.Open(ctx, loc, cfg)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	type want struct {
		p        image.Platform
		explicit bool
	}
	var wants []want
	for _, s := range platforms {
		p, err := image.ParsePlatform(s)
		if err != nil {
			return nil, usageError{fmt.Errorf("verify --platform: %w", err)}
		}
		wants = append(wants, want{p, true})
	}
	if len(wants) == 0 {
		vs, err := windowsVersions(source.Index)
		if err != nil {
			return nil, fmt.Errorf("verify %s: %w", src, err)
		}
		for _, v := range vs {
			p, err := image.ParsePlatform(v)
			if err != nil {
				return nil, fmt.Errorf("verify %s: %w", src, err)
			}
			wants = append(wants, want{p, true})
		}
		if len(wants) == 0 {
			wants = []want{{image.Platform{OS: "windows", Architecture: "amd64"}, false}}
		}
	}
	var checks []*imageCheck
	for _, w := range wants {
		if loc.Kind == image.KindDockerArchive && len(checks) > 0 {
			break // a load takes every image of the archive at once
		}
		results, err := st.Pull(ctx, loc, cfg, image.PullOptions{Platform: w.p, Explicit: w.explicit})
		if err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
		for _, r := range results {
			c := &imageCheck{source: src, pulledDigest: r.ManifestDigest, layers: len(r.Layers)}
			if pl := r.Platform; pl != nil {
				c.platform = pl.OS + "/" + pl.Architecture
				if pl.OSVersion != "" {
					c.platform += ":" + pl.OSVersion
				}
			}
			c.sourceDigest = r.ManifestDigest // a docker-archive has no manifest of its own
			if loc.Kind != image.KindDockerArchive {
				res, err := source.Resolve(w.p, w.explicit)
				if err != nil {
					return nil, fmt.Errorf("verify: %w", err)
				}
				c.sourceDigest = res.Descriptor.Digest.String()
			}
			if c.pulledDigest != c.sourceDigest {
				c.fail("pulled manifest %s, the source's is %s", c.pulledDigest, c.sourceDigest)
			}
			fmt.Fprintf(o.stdout, "$ winlayer --store %s image inspect %s\n", st.Layers().Home(), r.ManifestDigest)
			inspect := newImageInspectCmd(&options{store: st.Layers().Home(), stdout: o.stdout, stderr: o.stderr})
			inspect.SetContext(ctx)
			if err := inspect.RunE(inspect, []string{r.ManifestDigest}); err != nil {
				return nil, err
			}
			fmt.Fprintln(o.stdout)
			if err := saveAndCompare(ctx, st, c, &r.ImageInfo, filepath.Join(savedDir, "image-"+strconv.Itoa(len(checks)+1)), cfg); err != nil {
				return nil, err
			}
			for _, l := range r.Layers {
				sum, err := exportSHA256(ctx, st, l.ID)
				if err != nil {
					return nil, fmt.Errorf("verify %s: layer %s: %w", src, l.ID, err)
				}
				if sum != l.DiffID {
					c.fail("layer %s exports to %s, its DiffID is %s", l.ID, sum, l.DiffID)
					continue
				}
				c.layersOK++
			}
			checks = append(checks, c)
		}
	}
	return checks, nil
}

// saveAndCompare saves the stored image info to the OCI layout dir (as
// 'image save' does), reads the copy back and compares its manifest and
// layer digests with the stored ones.
func saveAndCompare(ctx context.Context, st *image.Store, c *imageCheck, info *image.ImageInfo, dir string, cfg image.Config) error {
	si, err := st.OpenImage(info.ManifestDigest, image.CompressionGzip)
	if err != nil {
		return fmt.Errorf("verify %s: %w", c.source, err)
	}
	if si.Recompressed {
		c.fail("the store did not keep the layer blobs: the saved copy is recompressed")
	}
	dst := image.Location{Kind: image.KindOCI, Path: dir, Tag: "verify"}
	c.saved = dst.String()
	wr, err := image.Write(ctx, dst, si.Image, cfg, image.WriteOptions{})
	if err != nil {
		return fmt.Errorf("verify %s: save: %w", c.source, err)
	}
	c.savedDigest = wr.Digest
	if wr.Digest != c.sourceDigest {
		c.fail("saved manifest %s, the source's is %s", wr.Digest, c.sourceDigest)
	}
	back, err := image.Open(ctx, dst, cfg)
	if err != nil {
		return fmt.Errorf("verify %s: read the saved copy: %w", c.source, err)
	}
	res, err := back.Resolve(image.Platform{OS: "windows", Architecture: "amd64"}, false)
	if err != nil {
		return fmt.Errorf("verify %s: read the saved copy: %w", c.source, err)
	}
	m, err := res.Image.Manifest()
	if err != nil {
		return fmt.Errorf("verify %s: read the saved copy: %w", c.source, err)
	}
	if len(m.Layers) != len(info.Layers) {
		c.fail("the saved copy has %d layers, the image %d", len(m.Layers), len(info.Layers))
		return nil
	}
	for i, l := range m.Layers {
		if l.Digest.String() != info.Layers[i].Digest {
			c.fail("saved layer %d is %s, the image's %s", i, l.Digest, info.Layers[i].Digest)
		}
	}
	return nil
}

// windowsVersions lists the platforms ("windows/ARCH:OSVERSION") of the
// Windows manifests of idx and the indexes it nests, in index order; nil
// when idx is nil or no entry has an os.version.
func windowsVersions(idx v1.ImageIndex) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	var walk func(v1.ImageIndex, int) error
	walk = func(idx v1.ImageIndex, depth int) error {
		im, err := idx.IndexManifest()
		if err != nil {
			return err
		}
		for _, d := range im.Manifests {
			if d.MediaType.IsIndex() && depth < 4 {
				sub, err := idx.ImageIndex(d.Digest)
				if err != nil {
					return err
				}
				if err := walk(sub, depth+1); err != nil {
					return err
				}
				continue
			}
			if pl := d.Platform; pl != nil && strings.EqualFold(pl.OS, "windows") && pl.OSVersion != "" {
				s := "windows/" + pl.Architecture + ":" + pl.OSVersion
				if !seen[s] {
					seen[s] = true
					out = append(out, s)
				}
			}
		}
		return nil
	}
	if idx == nil {
		return nil, nil
	}
	return out, walk(idx, 0)
}

// exportSHA256 returns "sha256:<hex>" of the export of layer id.
func exportSHA256(ctx context.Context, st *image.Store, id string) (string, error) {
	rc, err := st.Layers().Export(ctx, id)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// errImagesDiffer is returned by verify when an image did not keep its
// digests.
var errImagesDiffer = errors.New("images did not keep their digests")
