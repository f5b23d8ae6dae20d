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
	"sync/atomic"

	"github.com/winlayer/winlayer/wintar"

	"github.com/winlayer/winlayer/internal/ctxio"
	"github.com/winlayer/winlayer/internal/splitrec"
)

// Export returns the layer tar of layer id of the store in home; see
// [Store.Export]. parents is accepted for hcsshim's signature; the chain
// recorded in the layer is what counts. The store is opened read-only
// ([OpenReadOnly]): nothing is created or cleaned up.
func Export(ctx context.Context, home, id string, parents []string) (io.ReadCloser, error) {
	s, err := OpenReadOnly(home)
	if err != nil {
		return nil, err
	}
	return s.Export(ctx, id)
}

// Export streams the layer tar of layer id. A layer imported from a tar
// is reassembled from its tar-split record and its files: the very bytes
// that were imported (same sha256, the same DiffID); every payload's CRC
// is checked on the way, and the whole tar against the DiffID at the end
// (an error then ends the stream instead of io.EOF). The caller must
// Close the returned reader; an error while streaming surfaces from Read.
//
// Cancelling ctx ends Read and WriteTo (io.Copy) within moments with
// ctx's error, even when the destination blocks: a Write to it that is
// in progress is then left to finish in the background, and nothing more
// is written.
//
// With [VerifyBeforeWrite] no byte of a payload is written before the
// payload was checked against its size and CRC.
func (s *Store) Export(ctx context.Context, id string, opts ...ExportOption) (io.ReadCloser, error) {
	var c exportConfig
	for _, o := range opts {
		o(&c)
	}
	rc, err := s.export(ctx, id, c)
	if lp, ok := rc.(*lazyPipe); ok {
		lp.ctx, lp.id = ctx, id
	}
	return rc, err
}

// ExportOption configures [Store.Export].
type ExportOption func(*exportConfig)

type exportConfig struct {
	verifyFirst bool
}

// VerifyBeforeWrite makes an export of an imported layer check every
// payload before any of its bytes go out: a payload of up to 8 MiB is read
// into memory, checked against its recorded size and CRC-32C, then
// written; a larger one is read and checked once, then copied (and
// checked again as it goes). For output that can be cut back on error (a
// regular file), so that a damaged layer never leaves unverified bytes in
// it; the DiffID is still only known at the end. Layers exported from
// their files (changed through a view, built through a Writer) have no
// record to check against.
func VerifyBeforeWrite() ExportOption { return func(c *exportConfig) { c.verifyFirst = true } }

func (s *Store) export(ctx context.Context, id string, c exportConfig) (io.ReadCloser, error) {
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
	meta, err := readMeta(dir)
	if err == nil && meta.DiffID == "" {
		err = fmt.Errorf("%s: no diff id for the tar-split record: %w", metaFile, ErrCorrupt)
	}
	if err != nil {
		ts.Close()
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
	release := func() {
		ts.Close()
		g.Close()
	}
	return newLazyPipe(func(w io.Writer) error {
		defer release()
		dw := newDigestWriter(ctxio.Writer(ctx, w))
		if err := splitrec.Assemble(dw, splitrec.NewUnpacker(zr), g, c.verifyFirst); err != nil {
			return fmt.Errorf("export %s: %w", id, recordErr(err))
		}
		if err := dw.check(meta); err != nil {
			return fmt.Errorf("export %s: %w", id, err)
		}
		return nil
	}, release), nil
}

// recordErr makes the errors of the tar-split record layer errors: a
// malformed record, or a payload that does not match it, is ErrCorrupt;
// content a layer cannot keep is ErrInvalidEntry.
func recordErr(err error) error {
	switch {
	case errors.Is(err, ErrCorrupt) || errors.Is(err, ErrInvalidEntry):
		return err
	case errors.Is(err, splitrec.ErrCorrupt) || errors.Is(err, splitrec.ErrMismatch):
		return fmt.Errorf("%w: %w", err, ErrCorrupt)
	case errors.Is(err, splitrec.ErrUnkeptContent):
		return fmt.Errorf("%w: %w", err, ErrInvalidEntry)
	}
	return err
}

// lazyPipe is the reader an export returns: io.Copy from it (its WriteTo)
// writes the tar straight into the destination; Read runs the writer on a
// goroutine behind a pipe. Close before reading everything stops the
// writer. With a ctx that can be cancelled, WriteTo runs the writer on a
// goroutine too, so that it can return at cancel while the writer is
// blocked in the destination's Write.
type lazyPipe struct {
	write   func(io.Writer) error
	release func() // frees the writer's resources when it never runs
	started bool
	pr      *io.PipeReader
	ctx     context.Context // nil: not cancellable
	id      string
	stop    func() bool // ends the context.AfterFunc of Read
}

func newLazyPipe(write func(io.Writer) error, release func()) *lazyPipe {
	return &lazyPipe{write: write, release: release}
}

// WriteTo writes the whole stream to w, without a goroutine or a copy.
func (l *lazyPipe) WriteTo(w io.Writer) (int64, error) {
	if l.started {
		return io.Copy(w, onlyReader{l.pr})
	}
	l.started = true
	cw := &countWriter{w: w}
	if l.ctx == nil || l.ctx.Done() == nil {
		err := l.write(cw)
		return cw.n.Load(), err
	}
	if err := l.ctx.Err(); err != nil {
		l.release()
		return 0, l.cancelled()
	}
	errc := make(chan error, 1)
	go func() { errc <- l.write(cw) }()
	select {
	case err := <-errc:
		return cw.n.Load(), err
	case <-l.ctx.Done():
		select {
		case err := <-errc:
			return cw.n.Load(), err
		default:
		}
		return cw.n.Load(), l.cancelled()
	}
}

func (l *lazyPipe) cancelled() error {
	return fmt.Errorf("export %s: cancelled, the tar is incomplete: %w", l.id, l.ctx.Err())
}

func (l *lazyPipe) Read(p []byte) (int, error) {
	if !l.started {
		l.started = true
		pr, pw := io.Pipe()
		l.pr = pr
		if l.ctx != nil {
			// Closing the write half at cancel ends a Read waiting for
			// data, and the writer's Write waiting for a Read.
			l.stop = context.AfterFunc(l.ctx, func() { pw.CloseWithError(l.cancelled()) })
		}
		go func() {
			err := l.write(pw)
			if l.stop != nil {
				l.stop()
			}
			pw.CloseWithError(err)
		}()
	}
	if l.pr == nil {
		return 0, io.EOF
	}
	return l.pr.Read(p)
}

// Close stops a stream that is still being written.
func (l *lazyPipe) Close() error {
	if l.pr != nil {
		if l.stop != nil {
			l.stop()
		}
		return l.pr.Close()
	}
	if !l.started {
		l.started = true
		l.release()
	}
	return nil
}

type onlyReader struct{ io.Reader }

type countWriter struct {
	w io.Writer
	n atomic.Int64 // read by WriteTo while a cancelled writer may still write
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
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
	f, err := openLayerFile(g.root, g.dir, name)
	if err != nil {
		return nil, fmt.Errorf("get %q: %w", name, err)
	}
	return f, nil
}

// Close releases the layer directory.
func (g *FileGetter) Close() error { return g.root.Close() }
