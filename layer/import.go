package layer

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/gzip"
	"github.com/vbatts/tar-split/tar/storage"

	"github.com/winlayer/winlayer/wintar"

	"github.com/winlayer/winlayer/internal/directio"

	"github.com/winlayer/winlayer/internal/splitrec"
)

// Import reads the uncompressed layer tar r into a new layer id. Every
// entry is checked before it is written ([wintar.WithStrictNames] and the
// [Writer]'s rules); the tar's headers and padding are kept with
// tar-split so that [Store.Export] reproduces r byte for byte. The layer
// appears only when the whole tar was read and written; on any error —
// including ctx being cancelled — the store is left as it was, and the
// error names the layer and the entry. The one error after which the
// layer is there is [ErrCommittedNotDurable] (renamed into place, the
// final directory flush failed); Import then returns the size too.
//
// The parents follow the chain rules of [Store.NewWriter]: one parent
// directory stands for its whole chain, several must be that whole chain;
// opts may allow parents not committed yet ([WithPendingParents]).
//
// Cancelling ctx stops the import within moments wherever it waits, also
// while r sends nothing; the error then wraps ctx's error. r is read
// ahead on a goroutine: when Import returns before the end of r, a Read
// of r that is in progress completes in the background (its bytes are
// dropped) and r is not read again.
func (s *Store) Import(ctx context.Context, id string, parents []string, r io.Reader, opts ...ImportOption) (int64, error) {
	w, err := s.openWriter(ctx, id, parents, opts)
	if err != nil {
		return 0, fmt.Errorf("import %s: %w", id, err)
	}
	return w.importAndFinish(ctx, id, r, opts)
}

// importAndFinish reads the tar r into w, the import of layer id, and ends
// it: the verify hook of opts ([WithVerify]) sees the DiffID, then ctx is
// checked once more, and only then is the layer committed
// ([Writer.finishImport]). [Store.Import] and [Store.ReplaceImport] share
// it, so both keep the same contract.
func (w *Writer) importAndFinish(ctx context.Context, id string, r io.Reader, opts []ImportOption) (int64, error) {
	size, err := w.importTar(ctx, r)
	if c := importConfigOf(opts); err == nil && c.verify != nil {
		if err = c.verify(w.meta.DiffID); err != nil {
			err = fmt.Errorf("verify: %w", err)
		}
	}
	if err == nil {
		// A cancel that came with the end of the tar still counts: the
		// commit (syncfs) is the one step that cannot stop midway.
		err = ctx.Err()
	}
	return w.finishImport(id, size, err)
}

// finishImport ends an import into w that read size bytes of files and
// returned err: on an error the layer is discarded; otherwise it is
// committed, and the size is returned, also with ErrCommittedNotDurable
// (the layer is there). Errors name the layer id.
func (w *Writer) finishImport(id string, size int64, err error) (int64, error) {
	if err != nil {
		w.Abort()
		return 0, fmt.Errorf("import %s: %w", id, err)
	}
	if err := w.Close(); err != nil {
		if errors.Is(err, ErrCommittedNotDurable) {
			return size, fmt.Errorf("import %s: %w", id, err)
		}
		return 0, fmt.Errorf("import %s: %w", id, err)
	}
	return size, nil
}

func (w *Writer) importTar(ctx context.Context, r io.Reader) (int64, error) {
	tsf, err := os.Create(filepath.Join(w.Dir(), metaDir, tarSplitFile))
	if err != nil {
		return 0, err
	}
	defer tsf.Close()
	gz, err := gzip.NewWriterLevel(tsf, gzip.BestSpeed)
	if err != nil {
		return 0, err
	}
	head := &headRecorder{r: r}
	ra := directio.NewReadAhead(ctx, head)
	defer ra.Close()
	aw := directio.NewAsyncWriter(gz)
	closed := false
	defer func() {
		if !closed {
			aw.Close()
		}
	}()
	bp := splitrec.NewPacker(aw)
	tp := &trailerPacker{Packer: bp}
	st := splitrec.NewSplitter(ra, tp)
	size, err := wintar.Import(ctx, st, w, wintar.WithStrictNames())
	if cerr := ctx.Err(); err != nil && cerr != nil && errors.Is(err, cerr) {
		return 0, w.cancelled(err, cerr, head.n.Load())
	}
	if err != nil {
		err = asInvalidEntry(notTar(recordErr(err), head.bytes()))
		if errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrTruncated) {
			err = fmt.Errorf("%w: %w", err, ErrTruncated)
		}
		return 0, err
	}
	sum, n := ra.Sum()
	if n == 0 {
		return 0, fmt.Errorf("%w: the input is empty", ErrNotTar)
	}
	if !tp.complete() {
		return 0, fmt.Errorf("the tar ends without its end-of-archive marker (truncated after %d bytes?): %w", n, ErrTruncated)
	}
	if err := bp.Flush(); err != nil {
		return 0, err
	}
	closed = true
	if err := aw.Close(); err != nil {
		return 0, err
	}
	if err := gz.Close(); err != nil {
		return 0, err
	}
	if err := tsf.Close(); err != nil {
		return 0, err
	}
	w.meta.Size = size
	w.meta.TarSize = n
	w.meta.DiffID = "sha256:" + hex.EncodeToString(sum)
	return size, nil
}

// trailerPacker watches the tar-split record for the end-of-archive
// marker: after the last entry's padding, at least one zero block. Go's
// tar reader also accepts a tar cut at a block boundary, which would make
// a truncated download look like a smaller layer.
type trailerPacker struct {
	storage.Packer
	pad  int    // padding after the last entry's payload
	tail []byte // the first pad+512 bytes after the last entry
}

func (p *trailerPacker) AddEntry(e storage.Entry) (int, error) {
	if e.Type == storage.FileType {
		p.pad = int((512 - e.Size%512) % 512)
		p.tail = p.tail[:0]
	} else if need := p.pad + 512 - len(p.tail); need > 0 {
		p.tail = append(p.tail, e.Payload[:min(need, len(e.Payload))]...)
	}
	return p.Packer.AddEntry(e)
}

func (p *trailerPacker) complete() bool {
	if len(p.tail) < p.pad+512 {
		return false
	}
	for _, b := range p.tail[p.pad:] {
		if b != 0 {
			return false
		}
	}
	return true
}

// cancelled says what a cancel interrupted: how much of the input was
// read, how many entries were complete and where the import was.
func (w *Writer) cancelled(err, cause error, read int64) error {
	where := ""
	var ee *wintar.EntryError
	if errors.As(err, &ee) {
		switch {
		case ee.Name != "":
			where = fmt.Sprintf(", in entry %q", ee.Name)
		case ee.After != "":
			where = fmt.Sprintf(", waiting for the tar header after %q", ee.After)
		default:
			where = ", waiting for the first tar header"
		}
	}
	return fmt.Errorf("cancelled after %d bytes of input and %d complete entries%s; nothing was stored: %w",
		read, w.idx.entries, where, cause)
}
