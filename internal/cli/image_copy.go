package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/winlayer/winlayer/image"
)

func newImageCopyCmd(o *options) *cobra.Command {
	var (
		f            writeFlags
		allPlatforms bool
		pf           platformFlags
	)
	cmd := &cobra.Command{
		Use:   "copy [--platform P] [--host-build N] [--all-platforms] SRC DST",
		Short: "Copy an image between registries, OCI layouts and docker-archives, without the store",
		Long: `copy copies an image blob for blob, without the store: manifests, configs
and compressed layers go over as they are, so digests are preserved
(mirroring). SRC and DST are each a registry reference, oci:DIR[:TAG] or
docker-archive:FILE[:REF].

With --all-platforms an index is copied whole (every platform); otherwise
the Windows image for --platform is chosen as pull chooses it; --host-build N
applies containerd's host rule (the newest image a host of build N runs). With
several Windows images and neither flag the command fails and lists them. A
docker-archive holds images, not indexes, and carries no manifest: an image
with OCI media types or zstd layers comes out of one as Docker schema 2.

Between repositories of one registry blobs are mounted, not copied.
Standard output gets "copied to DST: DIGEST (layers: ...)", or with --json one
object as 'image push --json' prints it; a multi-image docker-archive copied
whole into another gets a line per image, as 'image save' prints one.
Foreign layers are left out (descriptors kept) unless --include-foreign.`,
		Example: `  winlayer image copy --all-platforms 127.0.0.1:5000/app:1 oci:/tmp/mirror:app
  winlayer image copy --platform windows/amd64:10.0.20348 oci:/tmp/mirror:app docker-archive:/tmp/app.tar:app:1
  winlayer image copy --host-build 26100 127.0.0.1:5000/app:1 oci:/tmp/mirror:app`,
		Args: exactArgs("SRC", "DST"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(); err != nil {
				return err
			}
			if allPlatforms && pf.given() {
				return usageError{fmt.Errorf("--all-platforms and --platform or --host-build exclude each other")}
			}
			p, explicit, err := pf.parse(cmd)
			if err != nil {
				return err
			}
			src, err := f.parse(args[0])
			if err != nil {
				return err
			}
			dst, err := f.parse(args[1])
			if err != nil {
				return err
			}
			d := newWriteDisplay(o, f.quiet)
			res, err := image.CopyEach(cmd.Context(), src, dst, f.config(), image.CopyOptions{
				AllPlatforms: allPlatforms, Platform: p, Explicit: explicit,
				Write: image.WriteOptions{IncludeForeign: f.includeForeign, Progress: d.event},
			})
			d.finish()
			if err != nil {
				return withLoginHint(err, src, dst)
			}
			return printCopied(o, &f, dst, res)
		},
	}
	f.add(cmd, true)
	cmd.Flags().BoolVar(&allPlatforms, "all-platforms", false, "copy a whole index (every platform), or every image of a docker-archive")
	pf.add(cmd, "the Windows image to copy from an index")
	return cmd
}

// printCopied prints what copy wrote: as push does for an image or an
// index; for the images of a multi-image docker-archive copied whole into
// another, as save prints such an archive (a summary line over each image's
// digest and name, or with --json an array of one object per image), not
// the first image's digest alone as if it were the only one.
func printCopied(o *options, f *writeFlags, dst image.Location, res []*image.Result) error {
	if len(res) == 1 {
		return printResult(o, f, "copied to", res[0])
	}
	if f.asJSON {
		enc := json.NewEncoder(o.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	var lines []string
	for _, r := range res {
		name := r.Destination
		if l, err := image.ParseLocation(r.Destination); err == nil {
			name = l.Tag
		}
		lines = append(lines, r.Digest+" "+name)
	}
	to := dst
	to.Tag = ""
	printArchiveSummary(o, "copied", to, res, lines)
	return nil
}
