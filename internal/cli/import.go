package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/winlayer/winlayer/internal/decompress"
	"github.com/winlayer/winlayer/layer"
)

func newImportCmd(o *options) *cobra.Command {
	var parents []string
	var file string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "import [--parent ID]... ID < layer.tar",
		Short: "Import a Windows layer tar into the store",
		Long: `import reads a Windows layer tar (uncompressed, or gzip- or
zstd-compressed as registries serve it) and stores it as layer ID: files as real files under
<store>/ID/Files, Hives and UtilityVM, Windows metadata in <store>/ID/.winlayer,
and the tar's own headers (tar-split), so that 'winlayer export' gives back
the same bytes.

--parent names the parent layer; a layer without parents is a base layer.
One --parent P stores P followed by P's own parents (the whole chain, nearest
first, as Docker stores it). Several --parent flags must give exactly that
chain, nearest first, else import refuses and shows the expected chain; a
parent named twice is refused. Hard links may point into a parent.

Every entry is checked before it is written: names outside Files/, Hives/,
UtilityVM/, '..', absolute names, backslashes, duplicates (also names that
differ only in case), writes beneath a symlink or junction, devices and
orphan alternate data streams are refused with an error naming the entry.
The import is atomic: on error or interruption the store is unchanged.

Prints the layer's size: the sum of its regular files' sizes (what Docker's
ApplyDiff returns), then its DiffID on standard error; with --json, one JSON
object on standard output instead. On a terminal, progress goes to standard
error: bytes read and the rate, and the total and percentage when the input's
size is known (-f FILE, or standard input redirected from a file).`,
		Example: `  winlayer --store /tmp/s import base < base.tar
  winlayer --store /tmp/s import --json -f base.tar base
  winlayer --store /tmp/s import --parent base app < app.tar.gz`,
		Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			// The input first: a missing -f FILE, or a terminal on
			// standard input, is named before the store is created.
			var in io.Reader = o.stdin
			if file != "" && file != "-" {
				f, err := os.Open(file)
				if err != nil {
					return fmt.Errorf("import %s: -f: %w", args[0], err)
				}
				defer f.Close()
				in = f
			} else if isTerminal(in) {
				return usageError{fmt.Errorf("import %s: standard input is a terminal: give the layer tar with < layer.tar or -f FILE", args[0])}
			}
			s, undo, err := o.openStore()
			if err != nil {
				return err
			}
			imported := false
			defer func() {
				if !imported {
					undo()
				}
			}()
			paths := make([]string, len(parents))
			for i, p := range parents {
				if !s.Exists(p) {
					if fi, err := os.Lstat(s.Dir(p)); err == nil && fi.Mode()&os.ModeSymlink != 0 {
						return fmt.Errorf("import %s: parent %s: %s is a symlink, not a layer directory (not followed): %w", args[0], p, s.Dir(p), layer.ErrCorrupt)
					}
					return fmt.Errorf("import %s: parent %s does not exist in %s", args[0], p, s.Home())
				}
				paths[i] = s.Dir(p)
			}
			if len(parents) == 1 {
				if paths, err = s.ResolveChain(cmd.Context(), parents[0]); err != nil {
					return fmt.Errorf("import %s: %w", args[0], err)
				}
			}
			cr := &countReader{r: newCancelReader(cmd.Context(), in)}
			stop := startProgress(o, cr, in, "import "+args[0])
			r, _, done, err := decompress.Reader(bufio.NewReaderSize(cr, 1<<20))
			if err != nil {
				stop()
				return fmt.Errorf("import %s: %w", args[0], err)
			}
			defer done()
			size, err := s.Import(cmd.Context(), args[0], paths, r)
			stop()
			if len(parents) > 1 && errors.Is(err, layer.ErrBadChain) {
				return fmt.Errorf("%w (give the nearest parent alone, or its whole chain nearest first)", err)
			}
			if err != nil {
				return err
			}
			imported = true
			if asJSON {
				return printImportJSON(cmd.Context(), o, s, args[0], size)
			}
			fmt.Fprintln(o.stdout, size)
			if m, err := s.Meta(cmd.Context(), args[0]); err == nil {
				fmt.Fprintf(o.stderr, "imported %s: %s in files, tar %s, diff id %s\n", args[0],
					units.BytesSize(float64(size)), units.BytesSize(float64(m.TarSize)), m.DiffID)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&parents, "parent", nil, "parent layer ID; repeated, the whole chain nearest first")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the imported layer as JSON (id, size, diff_id, tar_size, entries, parents, dir) instead of the text lines")
	cmd.Flags().StringVarP(&file, "file", "f", "", "read the tar from this file instead of standard input")
	return cmd
}

type countReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// startProgress shows, on standard error when it is a terminal, how much
// of in has been read (of its size when known); the returned function
// stops it.
func startProgress(o *options, c *countReader, in io.Reader, what string) func() {
	if !isTerminal(o.stderr) {
		return func() {}
	}
	return runProgress(o.stderr, c, inputSize(in), what)
}
