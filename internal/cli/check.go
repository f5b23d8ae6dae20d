package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/winlayer/winlayer/layer"
)

func newCheckCmd(o *options) *cobra.Command {
	var asJSON, fast bool
	cmd := &cobra.Command{
		Use:   "check [ID...]",
		Short: "Verify layers in place (all layers when no ID is given)",
		Long: `check verifies layers where they are, reading only (the store is opened
read-only: nothing is created, changed or cleaned up):

  - the parents of the layer's chain (layerchain.json) are present;
  - the metadata, the security descriptors (sd.json) and the index read back;
  - every entry of the index is on disk with the right type, a file with the
    recorded size (no longer, no shorter); every alternate data stream file
    and BCD backup is present with its size; nothing is on disk under Files/,
    Hives/ or UtilityVM/ that the index does not name;
  - every payload of the tar-split record has its recorded size and CRC-32C;
  - the tar reassembled from the record hashes to the layer's DiffID
    (--fast skips this last step, which reads the whole layer once more
    through sha256).

A layer changed through a writable view (a container's sandbox) has no record
to compare its files with: its report says which checks were skipped.

Prints a table (layer, status, problems; one problem a line), or with --json
an array of objects: id, status ("ok" or "bad"), problems (each {entry,
problem}; entry is the tar name, a store file such as ".winlayer/sd.json", or
"" for the layer as a whole) and skipped. Exits 1 when a layer is bad, naming
each bad layer and its entries. An interrupted or failed 'image pull' keeps the
image layers it completed, whose parents may be missing: check names them, and
pulling the image again (or 'winlayer rm ID') sets the store right.`,
		Example: `  winlayer check
  winlayer check --fast base app
  winlayer check --json app | jq '.[].problems'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.openStoreReadOnly()
			if err != nil {
				return err
			}
			ids := args
			if len(ids) == 0 {
				if ids, err = s.LayerIDs(cmd.Context()); err != nil {
					return err
				}
			}
			reports := []*layer.CheckReport{}
			for _, id := range ids {
				r, err := s.Check(cmd.Context(), id, layer.CheckOptions{Fast: fast})
				if len(args) == 0 && errors.Is(err, layer.ErrNotExist) {
					continue // removed since it was listed
				}
				if err != nil {
					return err
				}
				reports = append(reports, r)
			}
			if asJSON {
				enc := json.NewEncoder(o.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(reports); err != nil {
					return err
				}
			} else if err := checkTable(o, reports); err != nil {
				return err
			}
			return checkVerdict(reports)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&fast, "fast", false, "skip re-hashing each layer's tar against its DiffID")
	return cmd
}

func checkTable(o *options, reports []*layer.CheckReport) error {
	tw := tabwriter.NewWriter(o.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LAYER\tSTATUS\tPROBLEMS")
	for _, r := range reports {
		var lines []string
		for _, p := range r.Problems {
			lines = append(lines, problemText(p))
		}
		for _, s := range r.Skipped {
			lines = append(lines, "(skipped) "+s)
		}
		if len(lines) == 0 {
			lines = []string{"-"}
		}
		for i, l := range lines {
			if i == 0 {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", r.ID, r.Status, l)
			} else {
				fmt.Fprintf(tw, "\t\t%s\n", l)
			}
		}
	}
	return tw.Flush()
}

func problemText(p layer.Problem) string {
	if p.Entry == "" {
		return p.Problem
	}
	return p.Entry + ": " + p.Problem
}

// checkVerdict is the error (exit 1) naming every bad layer and its
// entries, or nil when all are good.
func checkVerdict(reports []*layer.CheckReport) error {
	var bad, orphans []string
	for _, r := range reports {
		if r.OK() {
			continue
		}
		if pulledOrphan(r) {
			orphans = append(orphans, r.ID)
		}
		var entries []string
		seen := map[string]bool{}
		for _, p := range r.Problems {
			e := p.Entry
			if e == "" {
				e = "whole layer"
			}
			if !seen[e] {
				seen[e] = true
				entries = append(entries, e)
			}
		}
		bad = append(bad, fmt.Sprintf("%s (%s)", r.ID, strings.Join(entries, ", ")))
	}
	if len(bad) == 0 {
		return nil
	}
	err := fmt.Errorf("check: %d of %d layers bad: %s", len(bad), len(reports), strings.Join(bad, "; "))
	if len(orphans) > 0 {
		err = fmt.Errorf("%w (%s: an image layer whose only problem is a missing parent is what an interrupted or failed 'image pull' or 'image load' leaves, the layers it completed; pulling the image again brings the parents, 'winlayer rm ID' drops such a layer)", err, strings.Join(orphans, ", "))
	}
	return err
}

// pulledOrphan reports whether r is an image layer (its id a 64-hex
// ChainID) whose only problems are parents that are missing: a pull
// imports an image's layers in parallel and keeps those that completed
// when another fails or is interrupted.
func pulledOrphan(r *layer.CheckReport) bool {
	if len(r.ID) != 64 || strings.Trim(r.ID, "0123456789abcdef") != "" || len(r.Problems) == 0 {
		return false
	}
	for _, p := range r.Problems {
		if !strings.HasPrefix(p.Problem, "parent ") || !strings.HasSuffix(p.Problem, " is missing") {
			return false
		}
	}
	return true
}
