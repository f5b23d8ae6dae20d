package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/winlayer/winlayer/image"
)

// inspectJSON is what 'image inspect --json' prints for an image.
type inspectJSON struct {
	ManifestDigest    string          `json:"manifest_digest"`
	ManifestMediaType string          `json:"manifest_media_type"`
	ConfigDigest      string          `json:"config_digest"`
	IndexDigest       string          `json:"index_digest,omitempty"`
	References        []string        `json:"references"`
	Platform          platformJSON    `json:"platform"`
	Source            string          `json:"source"`
	Repository        string          `json:"repository,omitempty"`
	GeneratedManifest bool            `json:"generated_manifest,omitempty"`
	Created           string          `json:"created"`
	Layers            []imageLayerJSN `json:"layers"`
}

type platformJSON struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant,omitempty"`
	OSVersion    string `json:"os.version,omitempty"`
}

type imageLayerJSN struct {
	ID        string   `json:"id"`
	DiffID    string   `json:"diff_id"`
	Digest    string   `json:"digest"`
	MediaType string   `json:"media_type"`
	Size      int64    `json:"size"`
	URLs      []string `json:"urls,omitempty"`
}

func newInspectJSON(in *image.ImageInfo) inspectJSON {
	out := inspectJSON{
		ManifestDigest: in.ManifestDigest, ManifestMediaType: in.ManifestMediaType, ConfigDigest: in.ConfigDigest,
		IndexDigest: in.IndexDigest, References: in.References, Source: in.Source, Repository: in.Repository,
		GeneratedManifest: in.GeneratedManifest, Created: in.Created.Format("2006-01-02T15:04:05Z07:00"),
		Layers: []imageLayerJSN{},
	}
	if out.References == nil {
		out.References = []string{}
	}
	if p := in.Platform; p != nil {
		out.Platform = platformJSON{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant, OSVersion: p.OSVersion}
	}
	for _, l := range in.Layers {
		out.Layers = append(out.Layers, imageLayerJSN{ID: l.ID, DiffID: l.DiffID, Digest: l.Digest, MediaType: l.MediaType, Size: l.Size, URLs: l.URLs})
	}
	return out
}

func newImageInspectCmd(o *options) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inspect [--json] NAME",
		Short: "Show an image of the store: digests, platform, layers",
		Long: `inspect shows a stored image. NAME is a reference as pulled or tagged
(127.0.0.1:5000/app:1), a manifest digest (sha256:…), or 12 or more of its hex
digits.

With --json one object: manifest_digest, manifest_media_type, config_digest,
index_digest (when chosen from an index), references, platform {os,
architecture, os.version}, source, repository (pulled from a registry),
generated_manifest (a docker-archive image), created, and layers [{id (the
store layer id, usable with 'winlayer export'), diff_id, digest, media_type,
size, urls (a foreign layer)}], base layer first.`,
		Example: `  winlayer image inspect 127.0.0.1:5000/app:1
  winlayer image inspect --json 127.0.0.1:5000/app:1 | jq -r '.layers[].id'`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ls, err := o.openStoreReadOnly()
			if err != nil {
				return err
			}
			info, err := image.OpenStore(ls).Lookup(args[0])
			if err != nil {
				return err
			}
			j := newInspectJSON(info)
			if asJSON {
				enc := json.NewEncoder(o.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(j)
			}
			fmt.Fprintf(o.stdout, "manifest:   %s (%s)\n", j.ManifestDigest, j.ManifestMediaType)
			fmt.Fprintf(o.stdout, "config:     %s\n", j.ConfigDigest)
			if j.IndexDigest != "" {
				fmt.Fprintf(o.stdout, "index:      %s\n", j.IndexDigest)
			}
			fmt.Fprintf(o.stdout, "platform:   %s/%s %s\n", j.Platform.OS, j.Platform.Architecture, j.Platform.OSVersion)
			fmt.Fprintf(o.stdout, "source:     %s\n", j.Source)
			for _, r := range j.References {
				fmt.Fprintf(o.stdout, "reference:  %s\n", r)
			}
			tw := tabwriter.NewWriter(o.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "#\tLAYER ID\tDIFF ID\tDIGEST\tSIZE\tMEDIA TYPE")
			for i, l := range j.Layers {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", i, l.ID, short(l.DiffID), short(l.Digest), units.HumanSize(float64(l.Size)), l.MediaType)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}
