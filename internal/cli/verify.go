package cli

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/winlayer/winlayer/layer"
)

func newVerifyCmd(o *options) *cobra.Command {
	var keep bool
	cmd := &cobra.Command{
		Use:   "verify LAYER.tar...",
		Short: "Round-trip layer tars through a temporary store and compare digests",
		Long: `verify imports each tar (each as a base layer
one) into a fresh temporary store, lists the store,
exports every layer again and compares the sha256 of the export with the
sha256 of the input. It exits 1 if any digest differs.

Use it to check, before relying on winlayer for an image, that its layers
survive a round trip bit for bit.`,
		Example: `  winlayer verify testdata/sample.tar testdata/sample.rebuilt.tar
  winlayer verify --keep layer1.tar layer2.tar`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("verify needs at least one tar file")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			home, err := os.MkdirTemp("", "winlayer-verify-")
			if err != nil {
				return err
			}
			if keep {
				fmt.Fprintf(o.stderr, "store kept in %s\n", home)
			} else {
				defer os.RemoveAll(home)
			}
			s, err := layer.Open(home)
			if err != nil {
				return err
			}
			type result struct{ id, path, in, out string }
			var results []result
			for i, path := range args {
				id := fmt.Sprintf("%d-%s", i+1, sanitizeID(strings.TrimSuffix(filepath.Base(path), ".tar")))
				f, err := os.Open(path)
				if err != nil {
					return err
				}
				h := sha256.New()
				_, err = s.Import(cmd.Context(), id, nil, io.TeeReader(bufio.NewReaderSize(f, 1<<20), h))
				f.Close()
				if err != nil {
					return fmt.Errorf("verify %s: %w", path, err)
				}
				results = append(results, result{id: id, path: path, in: hex.EncodeToString(h.Sum(nil))})
			}
			fmt.Fprintf(o.stdout, "$ winlayer --store %s ls\n", home)
			lsCmd := newLsCmd(&options{store: home, stdout: o.stdout})
			lsCmd.SetArgs(nil)
			if err := lsCmd.RunE(lsCmd, nil); err != nil {
				return err
			}
			fmt.Fprintln(o.stdout)
			tw := tabwriter.NewWriter(o.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "LAYER\tIMPORTED SHA256\tEXPORTED SHA256\tRESULT")
			bad := 0
			for i := range results {
				r := &results[i]
				rc, err := s.Export(cmd.Context(), r.id)
				if err != nil {
					return fmt.Errorf("verify %s: %w", r.path, err)
				}
				h := sha256.New()
				_, err = io.Copy(h, rc)
				rc.Close()
				if err != nil {
					return fmt.Errorf("verify %s: %w", r.path, err)
				}
				r.out = hex.EncodeToString(h.Sum(nil))
				verdict := "match"
				if r.in != r.out {
					verdict = "DIFFERENT"
					bad++
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.id, r.in, r.out, verdict)
			}
			tw.Flush()
			if bad > 0 {
				return fmt.Errorf("verify: %d of %d layers did not round-trip", bad, len(results))
			}
			fmt.Fprintf(o.stdout, "\nall %d layers round-trip byte for byte\n", len(results))
			return nil
		},
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the temporary store and print its path")
	return cmd
}

// sanitizeID turns a file name into a valid layer id.
func sanitizeID(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			b[i] = '_'
		}
	}
	if len(b) > 100 {
		b = b[:100]
	}
	return string(b)
}
