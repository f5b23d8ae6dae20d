package cli

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"
)

func newLsCmd(o *options) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List the layers in the store",
		Long: `ls lists the layers of the store: id, size (regular files), number of
entries, DiffID of the imported tar, and parents (nearest first; a parent that
is gone, say removed with 'rm --force', is marked "(missing)").

With --json, an array of objects: id, dir, parents (ids, nearest first; a
parent outside the store by its path), parent_dirs (the directories stored in
layerchain.json), missing_parents (the parents that are gone) and meta.`,
		Example: `  winlayer --store /tmp/s ls
  winlayer ls --json | jq -r '.[].id'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := o.openStoreReadOnly()
			if err != nil {
				return err
			}
			infos, err := s.List(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(o.stdout)
				enc.SetIndent("", "  ")
				if infos == nil {
					return enc.Encode([]struct{}{})
				}
				return enc.Encode(infos)
			}
			tw := tabwriter.NewWriter(o.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSIZE\tENTRIES\tDIFF ID\tPARENTS")
			for _, in := range infos {
				size, entries, diff := "-", "-", "-"
				if m := in.Meta; m != nil {
					size, entries = units.HumanSize(float64(m.Size)), fmt.Sprint(m.Entries)
					if m.DiffID != "" {
						diff = m.DiffID[:min(len(m.DiffID), 19)]
					}
				}
				var ps []string
				for _, p := range in.Parents {
					if slices.Contains(in.MissingParents, p) {
						p += " (missing)"
					}
					ps = append(ps, p)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", in.ID, size, entries, diff, strings.Join(ps, ","))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
