package layer

import (
	"archive/tar"
	"context"
	"strings"

	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"

	"github.com/winlayer/winlayer/backupstream"
	"github.com/winlayer/winlayer/internal/overlay"
	"github.com/winlayer/winlayer/wintar"
)

// exportFromFiles writes the tar of a layer whose Files tree was changed
// through a mounted view: the tree is walked (names in byte order, parents
// first); overlay whiteouts become whiteout entries and opaque directories
// opaque markers; files and directories keep the Windows metadata the
// index has for them and get defaults otherwise (ARCHIVE or DIRECTORY,
// times from the file system); Linux symlinks become Windows symlinks;
// further names of a hard-linked file become hard links. Entries outside
// Files (Hives, UtilityVM) come from the index.
func (s *Store) exportFromFiles(ctx context.Context, id string) (io.ReadCloser, error) {
	return s.streamTar(ctx, id, func(r *Reader, tw *tar.Writer) error {
		x := &filesExporter{r: r, tw: tw, ctx: ctx, inodes: map[[2]uint64]string{}, files: sandboxFiles(r.dir)}
		if err := x.walk(wintar.RootFiles); err != nil {
			return err
		}
		return x.rest()
	})
}

type filesExporter struct {
	r      *Reader
	tw     *tar.Writer
	ctx    context.Context
	inodes map[[2]uint64]string
	files  string // where Files lives: the layer's Files, or its sandbox's
}

// metaFor returns the index entry of name when it still describes what is
// on disk (same kind), else nil.
func (x *filesExporter) metaFor(name string, kind Kind) *Entry {
	e, ok := x.r.byName[name]
	if !ok || e.Kind != kind {
		return nil
	}
	return e
}

func defaultInfo(fi os.FileInfo, attr uint32) *backupstream.FileBasicInfo {
	t := backupstream.FiletimeFromTime(fi.ModTime())
	info := &backupstream.FileBasicInfo{CreationTime: t, LastWriteTime: t, ChangeTime: t, LastAccessTime: t, FileAttributes: attr}
	if ns, ok := fileAtime(fi); ok {
		info.LastAccessTime = backupstream.NsecToFiletime(ns)
	}
	return info
}

func (x *filesExporter) walk(name string) error {
	if err := x.ctx.Err(); err != nil {
		return err
	}
	p := filepath.Join(x.files, filepath.FromSlash(strings.TrimPrefix(strings.TrimPrefix(name, wintar.RootFiles), "/")))
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	win := wintar.ToWindows(name)
	switch {
	case overlay.IsWhiteoutAt(p, fi):
		return wintar.WriteWhiteout(x.tw, win)
	case fi.IsDir():
		e := x.metaFor(name, KindDir)
		if e == nil {
			e = &Entry{Name: name, Kind: KindDir}
			e.setBasicInfo(defaultInfo(fi, backupstream.AttrDirectory))
		}
		if err := x.writeEntry(e, win); err != nil {
			return err
		}
		if overlay.IsOpaque(p) {
			if err := wintar.WriteWhiteout(x.tw, win+`\.wh..opq`); err != nil {
				return err
			}
		}
		des, err := os.ReadDir(p)
		if err != nil {
			return err
		}
		for _, de := range des {
			if err := x.walk(path.Join(name, de.Name())); err != nil {
				return err
			}
		}
		return nil
	case fi.Mode()&os.ModeSymlink != 0:
		e := x.metaFor(name, KindReparse)
		if e == nil {
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			e = &Entry{Name: name, Kind: KindReparse,
				Reparse: backupstream.EncodeReparsePoint(&backupstream.ReparsePoint{Target: wintar.ToWindows(target)})}
			e.setBasicInfo(defaultInfo(fi, backupstream.AttrArchive|backupstream.AttrReparsePoint))
		}
		return x.writeEntry(e, win)
	case fi.Mode().IsRegular():
		if key, nlink, ok := fileLinkKey(fi); ok && nlink > 1 {
			if first, ok := x.inodes[key]; ok {
				info := defaultInfo(fi, backupstream.AttrArchive)
				if e := x.metaFor(first, KindFile); e != nil {
					info = e.BasicInfo()
				}
				return wintar.WriteHardLink(x.tw, win, wintar.ToWindows(first), info)
			}
			x.inodes[key] = name
		}
		e := x.metaFor(name, KindFile)
		if e == nil {
			e = &Entry{Name: name, Kind: KindFile}
			e.setBasicInfo(defaultInfo(fi, backupstream.AttrArchive))
		}
		m := *e
		m.Data, m.Size, m.DataAttr, m.Sparse = true, fi.Size(), 0, nil
		return x.writeEntry(&m, win)
	default:
		return nil // sockets, FIFOs, devices: nothing Windows can hold
	}
}

func (x *filesExporter) writeEntry(e *Entry, win string) error {
	if err := x.r.compose(e, x.r.sds); err != nil {
		return err
	}
	defer x.r.closeCurrent()
	size := e.Size
	if e.Kind == KindDir {
		size = 0
	}
	if err := wintar.WriteTarFileFromBackupStream(x.tw, x.r, win, size, e.BasicInfo()); err != nil {
		return fmt.Errorf("entry %q: %w", e.Name, err)
	}
	return nil
}

// rest writes the index entries outside Files (hives, the utility VM).
func (x *filesExporter) rest() error {
	for _, e := range x.r.entries {
		if e.Name == wintar.RootFiles || len(e.Name) > 6 && e.Name[:6] == "Files/" {
			continue
		}
		if e.Kind == KindTombstone || e.Kind == KindOpaque || e.Kind == KindLink {
			continue
		}
		if err := x.writeEntry(e, wintar.ToWindows(e.Name)); err != nil {
			return err
		}
	}
	return nil
}
