package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/winlayer/winlayer/internal/nocache"
	"github.com/winlayer/winlayer/layer"
)

func newExportCmd(o *options) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "export ID > layer.tar",
		Short: "Write a layer's tar to standard output",
		Long: `export writes the layer tar of layer ID. For a layer that was imported, these
are the very bytes that were imported (the same sha256, i.e. the same DiffID);
each file's content is checked against the CRC recorded at import, and the
whole tar against the DiffID at the end.

Any output but a terminal is fine (a pipe, a file, /dev/null). Nothing
unverified is left in a file:

  - with -o FILE the tar is written to a temporary file beside FILE, checked,
    flushed to disk and renamed to FILE at the end; on any error the
    temporary file is removed and an existing FILE is left as it was (and a
    missing layer creates nothing); a FILE that is a device or a FIFO
    (-o /dev/null) is written into as it is;
  - with standard output redirected to a file, every payload is checked
    before its bytes are written, and on any error (a damaged payload, the
    DiffID) the file is cut back to where the export began; exit status 1.

When the output is a regular file it is written back to disk as export goes
and dropped from the page cache, so exporting a large layer does not evict
what other programs cache.`,
		Example: `  winlayer export base > base.tar
  winlayer export -o base.tar base
  winlayer export base | sha256sum`,
		Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.openStoreReadOnly()
			if err != nil {
				return err
			}
			id := args[0]
			if file != "" && file != "-" {
				return exportToFile(cmd.Context(), s, id, file)
			}
			if isTerminal(o.stdout) {
				return usageError{errors.New("refusing to write a tar to a terminal: redirect standard output or use -o")}
			}
			if f, ok := o.stdout.(*os.File); ok {
				if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
					return exportToRedirect(cmd.Context(), s, id, f, fi.Size())
				}
			}
			return exportCopy(cmd.Context(), s, id, o.stdout)
		},
	}
	cmd.Flags().StringVarP(&file, "output", "o", "", "write the tar to this file (through a temporary file, renamed at the end) instead of standard output")
	return cmd
}

// exportCopy copies the export of id to out.
func exportCopy(ctx context.Context, s *layer.Store, id string, out io.Writer, opts ...layer.ExportOption) error {
	rc, err := s.Export(ctx, id, opts...)
	if err != nil {
		return err
	}
	defer rc.Close()
	if _, err := nocache.Copy(out, rc); err != nil {
		// The layer's own errors name it already; wrapping the copy (it
		// uses the layer's WriteTo) would say it twice.
		if strings.HasPrefix(err.Error(), "export "+id+": ") {
			return err
		}
		return fmt.Errorf("export %s: writing the tar: %w", id, err)
	}
	return nil
}

// exportToFile writes the export of id to a temporary file beside name
// and renames it to name once complete, checked and on disk.
func exportToFile(ctx context.Context, s *layer.Store, id, name string) (err error) {
	if !s.Exists(id) {
		// The error Export gives, before a file is made.
		rc, err := s.Export(ctx, id)
		if err == nil {
			rc.Close()
			err = fmt.Errorf("export %s: %w", id, layer.ErrNotExist)
		}
		return err
	}
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(name); err == nil && !fi.Mode().IsRegular() {
		// A device, a FIFO (-o /dev/null, -o /dev/stdout): written to as
		// it is, never replaced by a rename.
		return exportToSpecial(ctx, s, id, name)
	} else if err == nil {
		mode = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*.tmp")
	if err != nil {
		// Name the user's file and the cause, not the temporary name.
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("export %s: -o %s: cannot create a file in %s: %w", id, name, filepath.Dir(name), err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := exportCopy(ctx, s, id, tmp); err != nil {
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		return fmt.Errorf("export %s: %w", id, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("export %s: flush %s: %w", id, tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("export %s: %w", id, err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("export %s: %w", id, err)
	}
	syncDir(filepath.Dir(name))
	return nil
}

// exportToSpecial writes the export of id into name, an existing file
// that is not a regular file (a device, a FIFO); a terminal is refused.
func exportToSpecial(ctx context.Context, s *layer.Store, id, name string) (err error) {
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("export %s: %w", id, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("export %s: %w", id, cerr)
		}
	}()
	if isTerminal(f) {
		return usageError{fmt.Errorf("refusing to write a tar to a terminal (%s)", name)}
	}
	return exportCopy(ctx, s, id, f)
}

// exportToRedirect writes the export of id to standard output redirected
// to a regular file: every payload is verified before it is written, and
// on error the file is cut back to its length before the export.
func exportToRedirect(ctx context.Context, s *layer.Store, id string, f *os.File, size int64) error {
	start := size
	// Where writes begin: the offset (">", "1<>"), or the end with O_APPEND
	// (">>", whose offset may read 0). Cutting back to the larger of the
	// two never removes bytes that were there before.
	if off, err := f.Seek(0, io.SeekCurrent); err == nil && off > start {
		start = off
	}
	err := exportCopy(ctx, s, id, f, layer.VerifyBeforeWrite())
	if err == nil {
		return nil
	}
	if terr := f.Truncate(start); terr != nil {
		return fmt.Errorf("%w (and cutting standard output back to %d bytes failed: %v)", err, start, terr)
	}
	return fmt.Errorf("%w (standard output cut back to its %d bytes before the export)", err, start)
}

// syncDir flushes a directory's entries (best effort: not every system
// can).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
