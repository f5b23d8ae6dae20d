package layer

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/winlayer/winlayer/wintar"
)

// Export returns the layer tar of layer id of the store in home; see
// [Store.Export]. parents is accepted for hcsshim's signature; the chain
// recorded in the layer is what counts.
func Export(ctx context.Context, home, id string, parents []string) (io.ReadCloser, error) {
	s, err := Open(home)
	if err != nil {
		return nil, err
	}
	return s.Export(ctx, id)
}

// Export streams the layer tar of layer id. A layer imported from a tar
// is reassembled from its tar-split record and its files: the very bytes
// that were imported (same sha256, the same DiffID); every payload's CRC
// is checked on the way. The caller must Close the returned reader; an
// error while streaming surfaces from Read.
func (s *Store) Export(ctx context.Context, id string) (io.ReadCloser, error) {
	if err := ValidateID(id); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	dir := s.Dir(id)
	if !s.Exists(id) {
		return nil, fmt.Errorf("export %s: %w", id, ErrNotExist)
	}
	if s.IsDirty(id) {
		return s.exportFromFiles(ctx, id)
	}
	ts, err := os.Open(filepath.Join(dir, metaDir, tarSplitFile))
	if errors.Is(err, fs.ErrNotExist) {
		return s.exportFromIndex(ctx, id)
	}
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", id, err)
	}
	g, err := NewFileGetter(dir)
	if err != nil {
		ts.Close()
		return nil, fmt.Errorf("export %s: %w", id, err)
	}
	zr, err := gzip.NewReader(bufio.NewReaderSize(ts, 64<<10))
	if err != nil {
		ts.Close()
		return nil, fmt.Errorf("export %s: %s: %w: %w", id, tarSplitFile, err, ErrCorrupt)
	}
	pr, pw := io.Pipe()
	go func() {
		err := assemble(&ctxWriter{ctx: ctx, w: pw}, newBinUnpacker(zr), g)
		ts.Close()
		g.Close()
		if err != nil {
			err = fmt.Errorf("export %s: %w", id, err)
		}
		pw.CloseWithError(err)
	}()
	return pr, nil
}

// ctxWriter stops a streaming export when its context is cancelled.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// FileGetter serves the payloads of a layer by their tar names, as moby's
// DiffGetter does: the four UtilityVM BCD files from their backups,
// alternate data streams ("Files/a.txt:s") from the store's stream area,
// everything else from the file of that name in the layer directory,
// opened without following symlinks and without leaving the directory.
// Close it when done.
type FileGetter struct {
	dir  string
	root *os.File
	ads  map[string]string
}

// NewFileGetter returns the FileGetter of a layer directory.
func NewFileGetter(dir string) (*FileGetter, error) {
	g := &FileGetter{dir: dir, ads: map[string]string{}}
	err := eachEntry(dir, func(e *Entry) error {
		for _, a := range e.ADS {
			suffix := strings.TrimSuffix(a.Name, ":$DATA")
			p := filepath.Join(dir, metaDir, adsDir, fmt.Sprint(a.File))
			g.ads[e.Name+suffix] = p
			g.ads[e.Name+"/"+suffix] = p
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if g.root, err = os.Open(dir); err != nil {
		return nil, err
	}
	return g, nil
}

// Get opens the payload of the tar entry name. The caller closes it.
func (g *FileGetter) Get(name string) (io.ReadCloser, error) {
	if b, ok := wintar.BCDBackupName(name); ok {
		return os.Open(filepath.Join(g.dir, b))
	}
	if p, ok := g.ads[name]; ok {
		return os.Open(p)
	}
	if err := wintar.ValidateName(name, false); err != nil {
		return nil, fmt.Errorf("get %q: %w", name, err)
	}
	f, err := openBeneath(g.root, g.dir, name)
	if err != nil {
		return nil, fmt.Errorf("get %q: %w", name, err)
	}
	return f, nil
}

// Close releases the layer directory.
func (g *FileGetter) Close() error { return g.root.Close() }
