package cli

import (
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/winlayer/winlayer/image"
)

// openImageStore opens the image index of the --store layer store for push
// and save, which only read it: a missing store is an error, nothing is
// created.
func (o *options) openImageStore() (*image.Store, error) {
	ls, err := o.openStoreReadOnly()
	if err != nil {
		return nil, err
	}
	return image.OpenStore(ls), nil
}

func newImagePushCmd(o *options) *cobra.Command {
	var (
		f           writeFlags
		compression string
	)
	cmd := &cobra.Command{
		Use:   "push NAME DEST",
		Short: "Push a stored image to a registry",
		Long: `push sends the stored image NAME (a reference as pulled or tagged, a
manifest digest, or 12+ of its hex digits) to the registry reference DEST
(host[:port]/repo[:tag]).

The stored manifest is pushed as it was pulled, so the image keeps its
manifest digest. Blobs the registry has are not sent again; when the image
came from another repository of the same registry, its blobs are mounted
from there. Layers upload --jobs at once.

Foreign / non-distributable layers (Windows base layers) are not uploaded
and keep their descriptors, as Docker does. A registry with distribution's
default validation refuses such a manifest (HTTP 500 MANIFEST_BLOB_UNKNOWN);
then either push with --include-foreign (the layers are uploaded as ordinary
layers without urls, and the manifest digest changes), or allow the urls in
the registry's validation.manifests.urls.allow.

When the store did not keep a layer's compressed blob, the layer is
recompressed (--compression) and the manifest digest changes; push says so.`,
		Example: `  winlayer image push 127.0.0.1:5000/app:1 127.0.0.1:5000/mirror/app:1
  winlayer image push --json --include-foreign 127.0.0.1:5000/app:1 registry.example.com/app:1`,
		Args: exactArgs("NAME", "DEST"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(); err != nil {
				return err
			}
			comp := image.Compression(compression)
			if comp != image.CompressionGzip && comp != image.CompressionZstd {
				return usageError{fmt.Errorf("--compression %q: want gzip or zstd", compression)}
			}
			if _, err := f.config().Parse(args[1]); errors.Is(err, image.ErrBarePath) {
				// Not "write oci:PATH or docker-archive:PATH": push
				// cannot write those.
				return usageError{fmt.Errorf("push %s: %q is a path, not a registry reference: push writes to a registry (host[:port]/repo[:tag]); to write a file use 'winlayer image save %s docker-archive:%s' (or oci:%s for an OCI image layout)", args[0], args[1], args[0], args[1], args[1])}
			}
			dst, err := f.parse(args[1])
			if err != nil {
				return err
			}
			if dst.Kind != image.KindRegistry {
				return usageError{fmt.Errorf("push %s: DEST must be a registry reference; use 'winlayer image save' for %s", args[1], dst.Kind)}
			}
			st, err := o.openImageStore()
			if err != nil {
				return err
			}
			si, err := st.OpenImage(args[0], comp)
			if err != nil {
				return fmt.Errorf("push %s: %w", args[0], err)
			}
			cfg := f.config()
			d := newWriteDisplay(o, f.quiet)
			wo := image.WriteOptions{IncludeForeign: f.includeForeign, Progress: d.event}
			if si.Info.Repository != "" {
				if repo, err := name.NewRepository(si.Info.Repository, cfg.NameOptions()...); err == nil {
					wo.MountFrom = &repo
				}
			}
			var note string
			if si.Recompressed {
				note = fmt.Sprintf("the store did not keep every compressed layer blob of %s: those layers are recompressed with %s, so the manifest digest changes (stored %s)", args[0], comp, si.Info.ManifestDigest)
				d.event(image.WriteEvent{Kind: image.WriteNote, Message: note})
			}
			res, err := image.Write(cmd.Context(), dst, si.Image, cfg, wo)
			d.finish()
			if err != nil {
				return withLoginHint(fmt.Errorf("push %s: %w", args[0], err), dst)
			}
			if si.Recompressed {
				res.SourceDigest = si.Info.ManifestDigest
				res.Notes = append([]string{note}, res.Notes...)
			}
			return printResult(o, &f, "pushed", res)
		},
	}
	f.add(cmd, true)
	cmd.Flags().Lookup("include-foreign").Usage = "upload foreign / non-distributable layers too, as ordinary layers without urls (the manifest digest changes); by default they are not uploaded and keep their descriptors"
	cmd.Flags().StringVar(&compression, "compression", string(image.CompressionGzip), "compression of layers whose blob the store did not keep: gzip or zstd")
	return cmd
}
