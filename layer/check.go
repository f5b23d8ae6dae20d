package layer

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/winlayer/winlayer/internal/overlay"
	"github.com/winlayer/winlayer/wintar"
)

// CheckOptions configures [Store.Check].
type CheckOptions struct {
	// Fast skips re-hashing the reassembled tar against the DiffID;
	// payload sizes and CRC-32Cs are still checked.
	Fast bool
}

// Check statuses of a [CheckReport].
const (
	CheckOK  = "ok"  // no problem found
	CheckBad = "bad" // at least one problem
)

// Problem is one defect [Store.Check] found in a layer.
type Problem struct {
	// Entry is the tar name of the entry ("Files/a.txt", a stream as
	// "Files/a.txt:s"), or a store file relative to the layer directory
	// ("layerchain.json", ".winlayer/sd.json"), or "" for the layer as a
	// whole (its DiffID).
	Entry string `json:"entry"`
	// Problem says what is wrong.
	Problem string `json:"problem"`
}

// CheckReport is what [Store.Check] found in one layer.
type CheckReport struct {
	// ID is the layer id.
	ID string `json:"id"`
	// Status is [CheckOK] or [CheckBad].
	Status string `json:"status"`
	// Problems are the defects found, in the order found.
	Problems []Problem `json:"problems"`
	// Skipped names the checks that could not apply to this layer, and why
	// (a layer changed through a writable view has no record to check its
	// files against).
	Skipped []string `json:"skipped"`
}

// OK reports whether the layer has no problem.
func (r *CheckReport) OK() bool { return len(r.Problems) == 0 }

func (r *CheckReport) add(entry, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{Entry: entry, Problem: fmt.Sprintf(format, args...)})
}

func (r *CheckReport) skip(format string, args ...any) {
	r.Skipped = append(r.Skipped, fmt.Sprintf(format, args...))
}

// LayerIDs returns the ids of the layers in the store, sorted: every
// directory of the home with a valid id, and every symlink with one (a
// symlink where a layer should be is corruption that [Store.Check]
// reports).
func (s *Store) LayerIDs(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list %s: %w", s.home, err)
	}
	des, err := os.ReadDir(s.home)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", s.home, err)
	}
	var ids []string
	for _, de := range des {
		if ValidateID(de.Name()) != nil {
			continue
		}
		if de.IsDir() || de.Type()&fs.ModeSymlink != 0 {
			ids = append(ids, de.Name())
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// Check verifies layer id in place, reading only: the parents of its
// chain are present (with their own chains consistent); its metadata,
// security descriptor table and index can be read; every entry of the
// index is on disk with the right type (and a regular file with the
// recorded size, no longer, no shorter), every stream and BCD backup file
// it refers to is present with its size, and nothing is on disk that the
// index does not name; every payload of the tar-split record has its
// recorded size and CRC-32C; and, unless opts.Fast, the tar reassembled
// from the record hashes to the layer's DiffID.
//
// A layer changed through a writable view (dirty) or whose Files are on a
// sandbox, and a layer built through a Writer (no tar-split record), get
// the checks that apply to them; the report's Skipped says which were
// left out and why.
//
// Problems go into the report; the error is for what prevents checking:
// an invalid id, a layer that does not exist ([ErrNotExist]), ctx
// cancelled.
func (s *Store) Check(ctx context.Context, id string, opts CheckOptions) (*CheckReport, error) {
	if err := ValidateID(id); err != nil {
		return nil, fmt.Errorf("check: %w", err)
	}
	r := &CheckReport{ID: id, Problems: []Problem{}, Skipped: []string{}}
	if err := s.checkLayer(id); errors.Is(err, ErrNotExist) {
		return nil, fmt.Errorf("check %s: %w", id, ErrNotExist)
	} else if err != nil {
		r.add("", "%v", err)
		return r.done(), nil
	}
	c := &checker{s: s, id: id, dir: s.Dir(id), r: r, opts: opts}
	root, err := os.OpenRoot(c.dir)
	if err != nil {
		r.add("", "%v", err)
		return r.done(), nil
	}
	defer root.Close()
	c.root = root
	c.chain()
	if err := c.index(ctx); err != nil {
		return nil, fmt.Errorf("check %s: cancelled: %w", id, err)
	}
	if err := c.payloads(ctx); err != nil {
		return nil, fmt.Errorf("check %s: cancelled: %w", id, err)
	}
	return r.done(), nil
}

func (r *CheckReport) done() *CheckReport {
	r.Status = CheckOK
	if !r.OK() {
		r.Status = CheckBad
	}
	return r
}

// checker holds what one Check learns as it goes.
type checker struct {
	s    *Store
	id   string
	dir  string
	r    *CheckReport
	opts CheckOptions
	// root is the layer directory: the names the index gives (entries,
	// BCD backups) are looked up beneath it, so that a damaged index
	// naming "../x", an absolute path or a path through a symlink makes
	// Check report the name, never look outside the layer.
	root *os.Root

	meta      *Meta
	dirty     bool
	sandbox   bool            // Files is the link onto a sandbox's file system
	entries   int             // index entries read
	indexOK   bool            // the index was read to its end
	names     map[string]Kind // index names (a dir's opaque entry does not replace it)
	sizes     map[string]int64
	ancestors map[string]bool
	badOnDisk map[string]bool // tar names already reported: their payload is not re-read
}

// chain checks the parents of layerchain.json.
func (c *checker) chain() {
	chain, err := c.s.readChain(c.id)
	if err != nil {
		c.r.add(chainFile, "%v", err)
		return
	}
	for i, p := range chain {
		key := c.s.chainKey(p)
		if !c.s.parentExists(p) {
			c.r.add(chainFile, "parent %s is missing", key)
			continue
		}
		got, err := c.s.chainOf(p)
		if err != nil {
			c.r.add(chainFile, "parent %s: %v", key, err)
			continue
		}
		if !c.s.sameChain(got, chain[i+1:]) {
			c.r.add(chainFile, "parent %s has the chain %s, this layer's chain says %s",
				key, c.s.showChain(got), c.s.showChain(chain[i+1:]))
		}
	}
}

// index reads the metadata, sd.json and the index, and compares the
// index with the files.
func (c *checker) index(ctx context.Context) error {
	var err error
	c.meta, err = readMeta(c.dir)
	if errors.Is(err, fs.ErrNotExist) {
		c.r.add(metaDir+"/"+metaFile, "missing: the layer has no winlayer metadata")
	} else if err != nil {
		c.r.add(metaDir+"/"+metaFile, "%v", err)
	}
	c.dirty = c.s.IsDirty(c.id)
	if t, err := os.Readlink(filepath.Join(c.dir, wintar.RootFiles)); err == nil && filepath.ToSlash(t) == SandboxFilesLink {
		c.sandbox = true
	}
	switch {
	case c.sandbox:
		c.r.skip("Files/ against the index: Files is on the layer's sandbox (written through its view)")
	case c.dirty:
		c.r.skip("Files/ against the index: the layer is written through a view (marked dirty)")
	}
	sds := c.sdCount()
	c.names, c.sizes = map[string]Kind{}, map[string]int64{}
	c.ancestors = map[string]bool{wintar.RootFiles: true}
	c.badOnDisk = map[string]bool{}
	adsFiles := map[string]bool{}
	var links []*Entry
	err = eachEntry(c.dir, func(e *Entry) error {
		if c.entries%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		c.entries++
		if e.SD < 0 || sds >= 0 && e.SD > sds {
			c.r.add(e.Name, "security descriptor %d: %s has %d", e.SD, metaDir+"/"+sdFile, sds)
		}
		if _, ok := c.names[e.Name]; !ok || e.Kind != KindOpaque {
			c.names[e.Name] = e.Kind
		}
		if e.Kind == KindFile {
			c.sizes[e.Name] = e.Size
		}
		for p := path.Dir(e.Name); p != "." && p != "/"; p = path.Dir(p) {
			c.ancestors[p] = true
		}
		for _, a := range e.ADS {
			f := strconv.Itoa(a.File)
			adsFiles[f] = true
			c.checkSize(e.Name+strings.TrimSuffix(a.Name, ":$DATA"), filepath.Join(metaDir, adsDir, f), "stream file", a.Size)
		}
		if e.BCDBackup != "" {
			c.checkSize(e.Name, e.BCDBackup, "BCD backup", e.Size)
		}
		if e.Kind == KindLink {
			links = append(links, e)
			return nil
		}
		c.onDisk(e)
		return nil
	})
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.r.add(metaDir+"/"+indexFile, "missing")
		return nil
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return err
	case err != nil:
		c.r.add(metaDir+"/"+indexFile, "%v", err)
		return nil
	}
	c.indexOK = true
	if c.meta != nil && c.meta.Entries != c.entries {
		c.r.add(metaDir+"/"+indexFile, "%d entries, %s says %d", c.entries, metaFile, c.meta.Entries)
	}
	for _, e := range links {
		c.onDisk(e)
	}
	c.extraFiles()
	c.extraStreams(adsFiles)
	return ctx.Err()
}

// sdCount reads sd.json and returns its number of descriptors (-1 when it
// cannot be read, which is reported).
func (c *checker) sdCount() int {
	name := metaDir + "/" + sdFile
	b, err := os.ReadFile(filepath.Join(c.dir, metaDir, sdFile))
	if errors.Is(err, fs.ErrNotExist) {
		c.r.add(name, "missing: the security descriptors of the layer's entries are gone")
		return -1
	}
	if err != nil {
		c.r.add(name, "%v", err)
		return -1
	}
	var sds []string
	if err := json.Unmarshal(b, &sds); err != nil {
		c.r.add(name, "not a JSON array of strings: %v", err)
		return -1
	}
	for i, sd := range sds {
		if _, err := base64.StdEncoding.DecodeString(sd); err != nil {
			c.r.add(name, "descriptor %d: %v", i+1, err)
		}
	}
	return len(sds)
}

// checkSize checks that rel (relative to the layer directory) is a
// regular file of size bytes; problems are reported on entry.
func (c *checker) checkSize(entry, rel, what string, size int64) {
	fi, err := c.root.Lstat(rel)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.r.add(entry, "%s %s is missing", what, rel)
	case err != nil:
		c.r.add(entry, "%s %s: %v", what, rel, err)
	case !fi.Mode().IsRegular():
		c.r.add(entry, "%s %s is %s, not a regular file", what, rel, typeName(fi.Mode()))
	case fi.Size() != size:
		c.r.add(entry, "%s %s has %d bytes, recorded %d", what, rel, fi.Size(), size)
	default:
		return
	}
	c.badOnDisk[entry] = true
}

// underFiles reports whether name is Files or beneath it.
func underFiles(name string) bool {
	return name == wintar.RootFiles || strings.HasPrefix(name, wintar.RootFiles+"/")
}

// onDisk compares one index entry with what is at its name.
func (c *checker) onDisk(e *Entry) {
	if (c.dirty || c.sandbox) && underFiles(e.Name) {
		return
	}
	for p := path.Dir(e.Name); p != "." && p != "/"; p = path.Dir(p) {
		if c.badOnDisk[p] {
			// Beneath a damaged entry (a directory replaced by a file or
			// a symlink): not looked at, not followed.
			c.badOnDisk[e.Name] = true
			return
		}
	}
	onDiskPath := filepath.Join(c.dir, filepath.FromSlash(e.Name))
	fi, err := c.root.Lstat(filepath.FromSlash(e.Name))
	if errors.Is(err, fs.ErrNotExist) {
		if e.Kind != KindTombstone { // a file system without whiteout forms keeps none on disk
			c.r.add(e.Name, "missing: the index has a %s", e.Kind)
			c.badOnDisk[e.Name] = true
		}
		return
	}
	if err != nil {
		c.r.add(e.Name, "%v", err)
		c.badOnDisk[e.Name] = true
		return
	}
	mode := fi.Mode()
	var ok bool
	switch e.Kind {
	case KindDir, KindOpaque:
		ok = mode.IsDir()
	case KindFile, KindLink:
		ok = mode.IsRegular()
	case KindReparse:
		ok = mode&fs.ModeSymlink != 0
	case KindTombstone:
		ok = overlay.IsWhiteoutAt(onDiskPath, fi)
	default:
		c.r.add(e.Name, "unknown kind %q in the index", e.Kind)
		return
	}
	if !ok {
		c.r.add(e.Name, "wrong type: %s on disk, the index has a %s", typeName(mode), e.Kind)
		c.badOnDisk[e.Name] = true
		return
	}
	want, known := e.Size, e.Kind == KindFile
	if e.Kind == KindLink {
		want, known = c.sizes[e.Link]
	}
	switch {
	case !known || fi.Size() == want:
	case fi.Size() > want:
		c.r.add(e.Name, "%d bytes on disk, longer than the recorded %d", fi.Size(), want)
		c.badOnDisk[e.Name] = true
	default:
		c.r.add(e.Name, "%d bytes on disk, shorter than the recorded %d (truncated)", fi.Size(), want)
		c.badOnDisk[e.Name] = true
	}
}

func typeName(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m.IsRegular():
		return "a regular file"
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "a special file"
}

// extraFiles reports what is on disk under Files, Hives and UtilityVM
// that the index does not name (directories made implicitly for the
// entries beneath them excepted).
func (c *checker) extraFiles() {
	for _, root := range []string{wintar.RootFiles, wintar.RootHives, wintar.RootUtilityVM} {
		if root == wintar.RootFiles && (c.dirty || c.sandbox) {
			continue
		}
		top := filepath.Join(c.dir, root)
		if _, err := os.Lstat(top); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
			rel, rerr := filepath.Rel(c.dir, p)
			if rerr != nil {
				return rerr
			}
			name := filepath.ToSlash(rel)
			if err != nil {
				c.r.add(name, "%v", err)
				return nil
			}
			if _, ok := c.names[name]; ok {
				return nil
			}
			if d.IsDir() && c.ancestors[name] {
				return nil
			}
			c.r.add(name, "extra: %s on disk that the index does not name", typeName(d.Type()))
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		})
	}
}

// extraStreams reports files of .winlayer/ads that no entry refers to.
func (c *checker) extraStreams(used map[string]bool) {
	des, err := os.ReadDir(filepath.Join(c.dir, metaDir, adsDir))
	if err != nil {
		return
	}
	for _, de := range des {
		if !used[de.Name()] {
			c.r.add(metaDir+"/"+adsDir+"/"+de.Name(), "extra: a stream file no entry refers to")
		}
	}
}
