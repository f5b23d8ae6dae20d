package wintar

import (
	"archive/tar"
	"context"
	"io"
	"log/slog"
	"strings"

	"github.com/winlayer/winlayer/backupstream"
)

// LayerWriter receives the calls of the import loop, in tar order. It is
// the contract of hcsshim's wclayer.LayerWriter:
//
//   - Add starts a file (or directory) with its Windows name and basic
//     information; the backup stream of that file then arrives through
//     Write, in one or more calls, until the next Add, AddLink or Remove.
//   - AddLink makes name a hard link to target (both Windows names).
//   - Remove records the deletion of name (a whiteout), cleaned.
//
// Names are Windows-style (`Files\a\b.txt`) and not validated by [Import]:
// a LayerWriter that writes to disk must check them itself.
type LayerWriter interface {
	Add(name string, info *backupstream.FileBasicInfo) error
	AddLink(name, target string) error
	Remove(name string) error
	io.Writer
}

// ImportOption configures [Import].
type ImportOption func(*importConfig)

type importConfig struct {
	strict bool
	log    *slog.Logger
}

// WithStrictNames makes [Import] check every entry as a layer store must
// ([ValidateName]): unsafe names, link targets and whiteouts, device and
// FIFO entries and orphan alternate data streams fail with an
// [EntryError] naming the entry (Op "validate") before the LayerWriter
// sees them, and global PAX headers are skipped (logged) instead of being
// added as files. Alternate-data-stream entries attached to the file
// before them are checked too (the file's own stream has then already
// been written). Without it Import reproduces go-winio's calls exactly,
// `..` and absolute names included.
func WithStrictNames() ImportOption { return func(c *importConfig) { c.strict = true } }

// WithLogger sets where [Import] reports skipped entries (default: slog's default logger).
func WithLogger(l *slog.Logger) ImportOption { return func(c *importConfig) { c.log = l } }

// Import runs the import loop of hcsshim's ociwclayer (and of moby's
// windowsfilter driver) over the tar t, calling w for every entry:
// a base name starting with ".wh." becomes Remove of the cleaned target,
// typeflag '1' becomes AddLink, and every other entry becomes Add followed
// by its backup stream (see [WriteBackupStreamFromTarFile]). It returns the
// sum of the sizes of the regular files added: what ImportLayer and moby's
// ApplyDiff report; after an error, the sum over the files written in
// full before the failing entry. ctx is checked between entries.
//
// Errors are *[EntryError] values naming the step and the entry. The
// LayerWriter is not closed.
func Import(ctx context.Context, t TarReader, w LayerWriter, opts ...ImportOption) (int64, error) {
	cfg := importConfig{log: slog.Default()}
	for _, o := range opts {
		o(&cfg)
	}
	var total int64
	index := 0
	hdr, err := t.Next()
	if err == io.EOF {
		return 0, nil
	}
	if err != nil {
		return 0, &EntryError{Op: OpRead, Index: index, Err: err}
	}
	for {
		if err := ctx.Err(); err != nil {
			return total, &EntryError{Op: OpRead, Name: hdr.Name, Index: index, Err: err}
		}
		var next *tar.Header
		if cfg.strict {
			verr := checkSparse(hdr)
			var skip bool
			if verr == nil {
				skip, verr = checkStrict(hdr)
			}
			if verr != nil {
				return total, &EntryError{Op: OpValidate, Name: hdr.Name, Index: index, Err: verr}
			}
			if skip {
				cfg.log.Warn("skipping global PAX header", "entry", hdr.Name, "index", index)
				next, err = t.Next()
				index++
				if err == io.EOF {
					return total, nil
				}
				if err != nil {
					return total, &EntryError{Op: OpRead, Index: index, After: hdr.Name, Err: err}
				}
				hdr = next
				continue
			}
		}
		if target, ok := WhiteoutTarget(hdr.Name); ok {
			if err := w.Remove(ToWindows(target)); err != nil {
				return total, &EntryError{Op: OpRemove, Name: hdr.Name, Index: index, Err: err}
			}
			next, err = t.Next()
			index++
		} else if hdr.Typeflag == tar.TypeLink {
			if err := w.AddLink(ToWindows(hdr.Name), ToWindows(hdr.Linkname)); err != nil {
				return total, &EntryError{Op: OpAddLink, Name: hdr.Name, Index: index, Err: err}
			}
			next, err = t.Next()
			index++
		} else {
			name, size, info, ferr := FileInfoFromHeader(hdr)
			if ferr != nil {
				return total, &EntryError{Op: OpFileInfo, Name: hdr.Name, Index: index, Err: ferr}
			}
			if err := w.Add(ToWindows(name), info); err != nil {
				return total, &EntryError{Op: OpAdd, Name: hdr.Name, Index: index, Err: err}
			}
			ct := countingTar{TarReader: t, strict: cfg.strict, file: hdr.Name, index: index}
			next, err = WriteBackupStreamFromTarFile(w, &ct, hdr)
			if ct.invalid != nil {
				return total, ct.invalid
			}
			if err != nil && err != io.EOF {
				return total, ct.entryError(hdr.Name, err)
			}
			total += size
			index += ct.n
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, &EntryError{Op: OpRead, Index: index, After: hdr.Name, Err: err}
		}
		hdr = next
	}
}

// countingTar counts the headers WriteBackupStreamFromTarFile consumes, so
// that error indexes stay exact. In strict mode it also checks the
// alternate-data-stream entries of file (at index) before they are
// attached, since those never reach the import loop's own check: an unsafe
// one ends the stream with an error and is kept in invalid.
type countingTar struct {
	TarReader
	n       int
	strict  bool
	file    string
	index   int
	invalid *EntryError
	// stream and streamIndex name the newest alternate-data-stream entry
	// attached to file; last is the newest header read.
	stream      string
	streamIndex int
	last        string
	nextErr     error // the error of a header that could not be read
}

// entryError attributes an error of WriteBackupStreamFromTarFile to the
// entry it happened on: a header that could not be read is the entry
// after the last one read, not the file; a payload error inside an
// alternate data stream is that stream's entry.
func (c *countingTar) entryError(file string, err error) *EntryError {
	switch {
	case c.nextErr != nil && err == c.nextErr:
		last := c.last
		if last == "" {
			last = file
		}
		return &EntryError{Op: OpStream, Index: c.index + c.n, After: last, Err: err}
	case c.stream != "":
		return &EntryError{Op: OpStream, Name: c.stream, Index: c.streamIndex, Err: err}
	}
	return &EntryError{Op: OpStream, Name: file, Index: c.index, Err: err}
}

func (c *countingTar) Next() (*tar.Header, error) {
	c.n++
	hdr, err := c.TarReader.Next()
	if err != nil {
		if err != io.EOF {
			c.nextErr = err
		}
		return hdr, err
	}
	c.last = hdr.Name
	if hdr.Typeflag != tar.TypeReg || !strings.HasPrefix(hdr.Name, c.file+":") {
		return hdr, nil
	}
	c.stream, c.streamIndex = hdr.Name, c.index+c.n
	if !c.strict {
		return hdr, nil
	}
	verr := checkSparse(hdr)
	if verr == nil {
		verr = checkStream(hdr)
	}
	if verr != nil {
		c.invalid = &EntryError{Op: OpValidate, Name: hdr.Name, Index: c.index + c.n, Err: verr}
		return nil, c.invalid
	}
	return hdr, nil
}
