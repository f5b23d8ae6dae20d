package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

func newExportCmd(o *options) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "export ID > layer.tar",
		Short: "Write a layer's tar to standard output",
		Long: `export writes the layer tar of layer ID. For a layer that was imported, these
are the very bytes that were imported (the same sha256, i.e. the same DiffID);
each file's content is checked against the CRC recorded at import.`,
		Example: `  winlayer export base > base.tar
  winlayer export base | sha256sum`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.openStore()
			if err != nil {
				return err
			}
			var out io.Writer = o.stdout
			if file != "" && file != "-" {
				f, err := os.Create(file)
				if err != nil {
					return err
				}
				defer f.Close()
				out = f
			} else if isTerminal(o.stdout) {
				return usageError{errors.New("refusing to write a tar to a terminal: redirect standard output or use -o")}
			}
			rc, err := s.Export(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer rc.Close()
			bw := bufio.NewWriterSize(out, 1<<20)
			if _, err := io.Copy(bw, rc); err != nil {
				return fmt.Errorf("export %s: %w", args[0], err)
			}
			return bw.Flush()
		},
	}
	cmd.Flags().StringVarP(&file, "output", "o", "", "write the tar to this file instead of standard output")
	return cmd
}
