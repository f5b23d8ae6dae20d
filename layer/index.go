package layer

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/winlayer/winlayer/backupstream"
)

// Files under a layer's .winlayer directory.
const (
	indexFile    = "index.jsonl"      // one Entry per line, in import order
	sdFile       = "sd.json"          // the distinct security descriptors, base64
	metaFile     = "layer.json"       // Meta
	tarSplitFile = "tar-split.bin.gz" // tar-split record of the imported tar (tarsplit.go)
	adsDir       = "ads"              // alternate data stream payloads, by number
	dirtyFile    = "dirty"            // present: Files was changed through a mounted view
	formatVer    = 1
)

// Kind is what an index entry is.
type Kind string

// Entry kinds.
const (
	KindDir       Kind = "dir"
	KindFile      Kind = "file"
	KindReparse   Kind = "reparse"   // symlink or junction (Linux symlink on disk)
	KindLink      Kind = "hardlink"  // hard link to Link
	KindTombstone Kind = "tombstone" // whiteout: Name is deleted from the parents
	KindOpaque    Kind = "opaque"    // opaque directory: Name hides the parents' content
)

// Entry is the Windows metadata of one layer entry, as kept in the index.
// Names are tar names in slash form ("Files/dir/a.txt").
type Entry struct {
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// Times and attributes (FILE_BASIC_INFO); absent for tombstones.
	Creation   uint64 `json:"ctime,omitempty"`
	Access     uint64 `json:"atime,omitempty"`
	Write      uint64 `json:"mtime,omitempty"`
	Change     uint64 `json:"chtime,omitempty"`
	Attributes uint32 `json:"attr,omitempty"`
	// SD is the 1-based number of the security descriptor in sd.json (0: none).
	SD int `json:"sd,omitempty"`
	// EA is the FILE_FULL_EA_INFORMATION list, as stored in the stream.
	EA []byte `json:"ea,omitempty"`
	// Reparse is the reparse buffer of a symlink or junction.
	Reparse []byte `json:"reparse,omitempty"`
	// Data is set when the file has a BackupData stream; DataAttr holds
	// that stream's attributes (8: sparse).
	Data     bool   `json:"data,omitempty"`
	DataAttr uint32 `json:"data_attr,omitempty"`
	// Size is the logical size of the file content.
	Size int64 `json:"size,omitempty"`
	// Sparse lists the allocated ranges [offset, length] of a file written
	// with sparse blocks; nil for dense files.
	Sparse [][2]int64 `json:"sparse,omitempty"`
	// ADS are the alternate data streams, in stream order.
	ADS []ADS `json:"ads,omitempty"`
	// Link is the hard link target (a tar name in this layer or a parent).
	Link string `json:"link,omitempty"`
	// BCDBackup names the backup copy in the layer root of a UtilityVM BCD file.
	BCDBackup string `json:"bcd_backup,omitempty"`
}

// ADS is one alternate data stream of an entry.
type ADS struct {
	// Name is the stream name as in the backup stream (":name:$DATA").
	Name string `json:"name"`
	// Attributes are the stream attributes.
	Attributes uint32 `json:"attr,omitempty"`
	// Size is the payload size.
	Size int64 `json:"size"`
	// File is the payload's file number under .winlayer/ads.
	File int `json:"file"`
}

// BasicInfo returns the entry's FILE_BASIC_INFO (nil for tombstones).
func (e *Entry) BasicInfo() *backupstream.FileBasicInfo {
	if e.Kind == KindTombstone || e.Kind == KindOpaque {
		return nil
	}
	return &backupstream.FileBasicInfo{
		CreationTime: backupstream.Filetime(e.Creation), LastAccessTime: backupstream.Filetime(e.Access),
		LastWriteTime: backupstream.Filetime(e.Write), ChangeTime: backupstream.Filetime(e.Change),
		FileAttributes: e.Attributes,
	}
}

func (e *Entry) setBasicInfo(fi *backupstream.FileBasicInfo) {
	e.Creation, e.Access, e.Write, e.Change = uint64(fi.CreationTime), uint64(fi.LastAccessTime), uint64(fi.LastWriteTime), uint64(fi.ChangeTime)
	e.Attributes = fi.FileAttributes
}

// Meta is the summary winlayer keeps of a layer in .winlayer/layer.json.
type Meta struct {
	// Version is the on-disk format version.
	Version int `json:"version"`
	// Size is what the import returned: the sum of the regular files' sizes.
	Size int64 `json:"size"`
	// Entries counts index entries.
	Entries int `json:"entries"`
	// TarSize and DiffID describe the imported tar (empty for layers built
	// through a Writer): its length and "sha256:<hex>".
	TarSize int64  `json:"tar_size,omitempty"`
	DiffID  string `json:"diff_id,omitempty"`
	// Base is true for a layer without parents.
	Base bool `json:"base"`
	// Created is when the layer was committed.
	Created time.Time `json:"created"`
}

func readMeta(dir string) (*Meta, error) {
	b, err := os.ReadFile(filepath.Join(dir, metaDir, metaFile))
	if err != nil {
		return nil, err
	}
	var m Meta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", metaFile, err, ErrCorrupt)
	}
	if m.Version != formatVer {
		return nil, fmt.Errorf("%s: format version %d, want %d: %w", metaFile, m.Version, formatVer, ErrCorrupt)
	}
	return &m, nil
}

// eachEntry calls fn for every entry of a layer's index, in import order,
// holding one entry at a time in memory.
func eachEntry(dir string, fn func(*Entry) error) error {
	f, err := os.Open(filepath.Join(dir, metaDir, indexFile))
	if err != nil {
		return err
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReaderSize(f, 64<<10))
	for n := 0; ; n++ {
		var e Entry
		if err := dec.Decode(&e); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("%s entry %d: %w: %w", indexFile, n, err, ErrCorrupt)
		}
		if err := fn(&e); err != nil {
			return err
		}
	}
}

// readIndex loads the entries and the security descriptor table of a layer.
func readIndex(dir string) ([]*Entry, [][]byte, error) {
	var sds []string
	b, err := os.ReadFile(filepath.Join(dir, metaDir, sdFile))
	if err != nil {
		return nil, nil, err
	}
	if err := json.Unmarshal(b, &sds); err != nil {
		return nil, nil, fmt.Errorf("%s: %w: %w", sdFile, err, ErrCorrupt)
	}
	table := make([][]byte, len(sds))
	for i, s := range sds {
		if table[i], err = base64.StdEncoding.DecodeString(s); err != nil {
			return nil, nil, fmt.Errorf("%s: %w: %w", sdFile, err, ErrCorrupt)
		}
	}
	f, err := os.Open(filepath.Join(dir, metaDir, indexFile))
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var out []*Entry
	dec := json.NewDecoder(bufio.NewReaderSize(f, 64<<10))
	for {
		e := new(Entry)
		if err := dec.Decode(e); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, nil, fmt.Errorf("%s entry %d: %w: %w", indexFile, len(out), err, ErrCorrupt)
		}
		if e.SD < 0 || e.SD > len(table) {
			return nil, nil, fmt.Errorf("%s entry %q: security descriptor %d of %d: %w", indexFile, e.Name, e.SD, len(table), ErrCorrupt)
		}
		out = append(out, e)
	}
	return out, table, nil
}
