package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	units "github.com/docker/go-units"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/winlayer/winlayer/image"
)

func newImageLsCmd(o *options) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ls [--json]",
		Short: "List the images in the store",
		Long: `ls lists the stored images: references, manifest digest, platform, number of
layers and their compressed size. A pull by tag also records repo@digest; the
table leaves such a reference out where a tag of the same repository is shown
(the MANIFEST DIGEST column has the digest). With --json an array with, per image, what
'image inspect --json' prints (manifest_digest, references, platform, layers...).`,
		Example: `  winlayer image ls
  winlayer image ls --json | jq -r '.[].manifest_digest'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ls, err := o.openStoreReadOnly()
			if err != nil {
				return err
			}
			imgs, err := image.OpenStore(ls).Images()
			if err != nil {
				return err
			}
			if asJSON {
				out := make([]inspectJSON, 0, len(imgs))
				for i := range imgs {
					out = append(out, newInspectJSON(&imgs[i]))
				}
				enc := json.NewEncoder(o.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			tw := tabwriter.NewWriter(o.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "REFERENCE\tMANIFEST DIGEST\tPLATFORM\tLAYERS\tSIZE")
			for _, im := range imgs {
				refs := "<none>"
				if shown := tableReferences(im.References); len(shown) > 0 {
					refs = strings.Join(shown, ", ")
				}
				plat := "-"
				if p := im.Platform; p != nil {
					plat = strings.TrimSuffix(p.OS+"/"+p.Architecture+" "+p.OSVersion, " ")
				}
				var size int64
				for _, l := range im.Layers {
					size += l.Size
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", refs, short(im.ManifestDigest), plat, len(im.Layers), units.HumanSize(float64(size)))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	return cmd
}

// tableReferences is refs as the image ls table shows them: a digest
// reference (repo@sha256:…, which a pull by tag records beside the tag) is
// left out when a tag of the same repository is listed, since the digest
// column shows it; without such a tag it stays.
func tableReferences(refs []string) []string {
	tagged := map[string]bool{}
	for _, r := range refs {
		if ref, err := name.ParseReference(r); err == nil {
			if t, ok := ref.(name.Tag); ok {
				tagged[t.Context().String()] = true
			}
		}
	}
	var out []string
	for _, r := range refs {
		if ref, err := name.ParseReference(r); err == nil {
			if d, ok := ref.(name.Digest); ok && tagged[d.Context().String()] {
				continue
			}
		}
		out = append(out, r)
	}
	return out
}
