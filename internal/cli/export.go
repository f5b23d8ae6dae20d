package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/winlayer/winlayer/internal/nocache"
)

func newExportCmd(o *options) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "export ID > layer.tar",
		Short: "Write a layer's tar to standard output",
		Long: `export writes the layer tar of layer ID. For a layer that was imported, these
are the very bytes that were imported (the same sha256, i.e. the same DiffID);
each file's content is checked against the CRC recorded at import.

When the output is a regular file (-o, or standard output redirected to a
file), it is written back to disk as export goes and dropped from the page
cache, so exporting a large layer does not evict what other programs cache.`,
		Example: `  winlayer export base > base.tar
  winlayer export base | sha256sum`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			s, err := o.openStoreReadOnly()
			if err != nil {
				return err
			}
			var out io.Writer = o.stdout
			if file != "" && file != "-" {
				f, err := os.Create(file)
				if err != nil {
					return err
				}
				defer func() {
					if cerr := f.Close(); err == nil && cerr != nil {
						err = fmt.Errorf("export %s: %w", args[0], cerr)
					}
				}()
				out = f
			} else if isTerminal(o.stdout) {
				return usageError{errors.New("refusing to write a tar to a terminal: redirect standard output or use -o")}
			}
			rc, err := s.Export(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer rc.Close()
			if _, err := nocache.Copy(out, rc); err != nil {
				// The layer's own errors name it already; wrapping the
				// copy (it uses the layer's WriteTo) would say it twice.
				if strings.HasPrefix(err.Error(), "export "+args[0]+": ") {
					return err
				}
				return fmt.Errorf("export %s: writing the tar: %w", args[0], err)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "output", "o", "", "write the tar to this file instead of standard output")
	return cmd
}
