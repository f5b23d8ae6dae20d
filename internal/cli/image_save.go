package cli

import (
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/winlayer/winlayer/image"
)

func newImageSaveCmd(o *options) *cobra.Command {
	var (
		f           writeFlags
		compression string
	)
	cmd := &cobra.Command{
		Use:   "save NAME... DEST",
		Short: "Write stored images to an OCI layout or a docker-archive",
		Long: `save writes stored images (each NAME a reference as pulled or tagged, a
manifest digest, or 12+ of its hex digits) to DEST:

  oci:DIR[:TAG]              an OCI image layout (created if missing); the
                             image is named TAG (org.opencontainers.image.ref.name),
                             replacing an entry of that name, keeping the others.
                             With several NAMEs each is named by its NAME.
  docker-archive:FILE[:REF]  a docker save archive (docker load, skopeo);
                             tagged REF, else with the image's reference.
                             Several NAMEs give a multi-image archive.

The stored manifests, configs and compressed blobs are written as they are,
so the digests are the pulled ones (a docker-archive carries no manifest;
readers rebuild it). Foreign layers are left out of an OCI layout unless
--include-foreign (their descriptors are kept either way); a docker-archive
always carries them and lists them under LayerSources, as docker save does.

--json prints one object per image (destination, digest, media_type,
source_digest, blobs, notes); with several NAMEs they form a JSON array.`,
		Example: `  winlayer image save 127.0.0.1:5000/app:1 oci:/tmp/layout:app
  winlayer image save 127.0.0.1:5000/app:1 127.0.0.1:5000/base:1 docker-archive:/tmp/images.tar`,
		Args: minArgs("NAME...", "DEST"),
		RunE: func(cmd *cobra.Command, args []string) error {
			comp := image.Compression(compression)
			if comp != image.CompressionGzip && comp != image.CompressionZstd {
				return usageError{fmt.Errorf("--compression %q: want gzip or zstd", compression)}
			}
			names, destArg := args[:len(args)-1], args[len(args)-1]
			dst, err := f.parse(destArg)
			if err != nil {
				return err
			}
			if dst.Kind == image.KindRegistry {
				return usageError{fmt.Errorf("save %s: DEST must be oci:DIR[:TAG] or docker-archive:FILE[:REF]; use 'winlayer image push' for a registry", destArg)}
			}
			if len(names) > 1 && dst.Tag != "" {
				return usageError{fmt.Errorf("save %s: several images cannot take one name; leave :%s out", destArg, dst.Tag)}
			}
			st, err := o.openImageStore()
			if err != nil {
				return err
			}
			d := newWriteDisplay(o, f.quiet)
			defer d.finish()
			wo := image.WriteOptions{IncludeForeign: f.includeForeign, Progress: d.event}
			var named []image.NamedImage
			var results []*image.Result
			var saved []string // "digest name" of each image of an archive
			// As push: the result of an image whose layers were
			// recompressed says which stored digest changed.
			fixes := make([]func(*image.Result), len(names))
			for i, n := range names {
				si, err := st.OpenImage(n, comp)
				if err != nil {
					return fmt.Errorf("save %s: %w", n, err)
				}
				if si.Recompressed {
					note := fmt.Sprintf("the store did not keep every compressed layer blob of %s: those layers are recompressed with %s, so the manifest digest changes (stored %s)", n, comp, si.Info.ManifestDigest)
					d.event(image.WriteEvent{Kind: image.WriteNote, Message: note})
					fixes[i] = func(res *image.Result) {
						res.SourceDigest = si.Info.ManifestDigest
						res.Notes = append([]string{note}, res.Notes...)
					}
				}
				tag := dst.Tag
				if tag == "" && (len(names) > 1 || dst.Kind == image.KindDockerArchive) {
					tag = saveName(n, si.Info)
				}
				named = append(named, image.NamedImage{Name: tag, Image: si.Image})
				if dst.Kind == image.KindDockerArchive {
					saved = append(saved, fmt.Sprintf("%s %s", si.Info.ManifestDigest, orNone(tag)))
				}
			}
			// All or nothing: a failed save leaves no FILE (or the old one)
			// and an OCI layout as it was (a DIR it created removed).
			if dst.Kind == image.KindDockerArchive {
				results, err = image.WriteArchiveEach(cmd.Context(), dst.Path, named, wo)
			} else {
				results, err = image.WriteLayout(cmd.Context(), dst.Path, named, image.Config{}, wo)
			}
			if err != nil {
				return fmt.Errorf("save: %w", err)
			}
			for i, fix := range fixes {
				if fix != nil && i < len(results) {
					fix(results[i])
				}
			}
			d.finish()
			return printSaved(o, &f, dst, names, named, results, saved)
		},
	}
	f.add(cmd, false)
	cmd.Flags().Lookup("include-foreign").Usage = "write the blobs of foreign / non-distributable layers into an OCI layout too (their descriptors, and so the digests, are kept); a docker-archive always carries them"
	f.jobs = image.DefaultJobs
	cmd.Flags().StringVar(&compression, "compression", string(image.CompressionGzip), "compression of layers whose blob the store did not keep: gzip or zstd")
	return cmd
}

// printArchiveSummary prints what a write of several images into one
// docker-archive did: "VERB N images to DEST (layers: …)", the layer counts
// of the archive (which holds each blob once), over a line per image
// (lines: its digest and name).
func printArchiveSummary(o *options, verb string, to image.Location, results []*image.Result, lines []string) {
	all := &image.Result{}
	seen := map[string]bool{}
	for _, r := range results {
		for _, b := range r.Blobs {
			if !seen[b.Digest] {
				seen[b.Digest] = true
				all.Blobs = append(all.Blobs, b)
			}
		}
	}
	fmt.Fprintf(o.stdout, "%s %d images to %s (%s)\n", verb, len(lines), to, layerCounts(all))
	for _, l := range lines {
		fmt.Fprintf(o.stdout, "  %s\n", l)
	}
}

// printSaved prints what save wrote: with --json one object, or for
// several images an array of one object per image; otherwise a line per
// image — "saved NAME (DIGEST) to DEST as TAG (layers: …)", the name the
// image has in DEST after "as", never glued to DEST's path — and for a
// multi-image archive a summary line (the archive's layer counts) over a
// line per image (digest and name).
func printSaved(o *options, f *writeFlags, dst image.Location, names []string, named []image.NamedImage, results []*image.Result, saved []string) error {
	if f.asJSON {
		if len(results) > 1 {
			enc := json.NewEncoder(o.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(results)
		}
		for _, r := range results {
			if err := printResult(o, f, "saved", r); err != nil {
				return err
			}
		}
		return nil
	}
	to := dst
	to.Tag = ""
	if len(saved) > 1 {
		printArchiveSummary(o, "saved", to, results, saved)
		return nil
	}
	for i, r := range results {
		as := ""
		if i < len(named) && named[i].Name != "" {
			as = " as " + named[i].Name
		}
		n := r.Digest
		if i < len(names) {
			n = names[i]
		}
		fmt.Fprintf(o.stdout, "saved %s (%s) to %s%s (%s)\n", n, r.Digest, to, as, layerCounts(r))
		if r.Digest != r.SourceDigest {
			fmt.Fprintf(o.stdout, "digest changed: the source was %s\n", r.SourceDigest)
		}
	}
	return nil
}

// saveName is the name an image gets in a layout or archive when DEST
// gives none: NAME when it is a repo:tag, else the image's first tag
// reference, else none.
func saveName(n string, info image.ImageInfo) string {
	cands := append([]string{n}, info.References...)
	for _, c := range cands {
		if _, err := name.NewTag(c, name.StrictValidation); err == nil {
			return c
		}
	}
	return ""
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
