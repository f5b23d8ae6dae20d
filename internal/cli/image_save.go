package cli

import (
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
		Long: `save writes stored images (each NAME a reference as pulled or tagged, or a
manifest digest) to DEST:

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
always carries them and lists them under LayerSources, as docker save does.`,
		Example: `  winlayer image save 127.0.0.1:5000/app:1 oci:/tmp/layout:app
  winlayer image save 127.0.0.1:5000/app:1 127.0.0.1:5000/base:1 docker-archive:/tmp/images.tar`,
		Args: minArgs(2),
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
			var archiveFix func(*image.Result)
			for _, n := range names {
				si, err := st.OpenImage(n, comp)
				if err != nil {
					return fmt.Errorf("save %s: %w", n, err)
				}
				var note string
				if si.Recompressed {
					note = fmt.Sprintf("the store did not keep every compressed layer blob of %s: those layers are recompressed with %s, so the manifest digest changes (stored %s)", n, comp, si.Info.ManifestDigest)
					d.event(image.WriteEvent{Kind: image.WriteNote, Message: note})
				}
				// As push: the result says which stored digest changed.
				recompressed := func(res *image.Result) {
					if si.Recompressed {
						res.SourceDigest = si.Info.ManifestDigest
						res.Notes = append([]string{note}, res.Notes...)
					}
				}
				tag := dst.Tag
				if tag == "" && (len(names) > 1 || dst.Kind == image.KindDockerArchive) {
					tag = saveName(n, si.Info)
				}
				if dst.Kind == image.KindDockerArchive {
					named = append(named, image.NamedImage{Name: tag, Image: si.Image})
					saved = append(saved, fmt.Sprintf("%s %s", si.Info.ManifestDigest, orNone(tag)))
					if len(names) == 1 {
						archiveFix = recompressed
					}
					continue
				}
				loc := dst
				loc.Tag = tag
				res, err := image.Write(cmd.Context(), loc, si.Image, image.Config{}, wo)
				if err != nil {
					return fmt.Errorf("save %s: %w", n, err)
				}
				recompressed(res)
				results = append(results, res)
			}
			if dst.Kind == image.KindDockerArchive {
				res, err := image.WriteArchive(cmd.Context(), dst.Path, named, wo)
				if err != nil {
					return fmt.Errorf("save: %w", err)
				}
				if archiveFix != nil {
					archiveFix(res)
				}
				results = append(results, res)
			}
			d.finish()
			if len(saved) > 1 && !f.asJSON {
				// A multi-image archive: every image, not the first one's
				// digest alone.
				fmt.Fprintf(o.stdout, "saved %s: %d images (%s)\n", results[0].Destination, len(saved), layerCounts(results[0]))
				for _, l := range saved {
					fmt.Fprintf(o.stdout, "  %s\n", l)
				}
				return nil
			}
			for _, r := range results {
				if err := printResult(o, &f, "saved", r); err != nil {
					return err
				}
			}
			return nil
		},
	}
	f.add(cmd, false)
	cmd.Flags().Lookup("include-foreign").Usage = "write the blobs of foreign / non-distributable layers into an OCI layout too (their descriptors, and so the digests, are kept); a docker-archive always carries them"
	f.jobs = image.DefaultJobs
	cmd.Flags().StringVar(&compression, "compression", string(image.CompressionGzip), "compression of layers whose blob the store did not keep: gzip or zstd")
	return cmd
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
