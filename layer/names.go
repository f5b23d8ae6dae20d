package layer

import (
	"encoding/json"
	"hash/maphash"
	"os"
	"path"
	"path/filepath"

	"github.com/winlayer/winlayer/wintar"
)

// nameSet remembers every name a Writer has put in its layer, by a 64-bit
// hash of its NTFS upper-cased form ([wintar.UpcaseNTFS], for the
// case-insensitive duplicate check Windows needs) and a hash of its exact spelling: about 40 bytes a name,
// whatever the names' length, so that memory stays small for layers of
// millions of files. The exact spelling, needed only for error messages,
// is read back from the layer directory.
type nameSet struct {
	seed maphash.Seed
	m    map[uint64]nameInfo
	dir  string
}

type nameInfo struct {
	exact    uint64
	kind     Kind
	implicit bool // a directory created for a child, not added itself
}

func newNameSet(dir string) *nameSet {
	return &nameSet{seed: maphash.MakeSeed(), m: map[uint64]nameInfo{}, dir: dir}
}

func (s *nameSet) hash(name string) uint64 { return maphash.String(s.seed, name) }

// get returns what name (compared without case) is in the layer.
func (s *nameSet) get(name string) (nameInfo, bool) {
	in, ok := s.m[s.hash(wintar.UpcaseNTFS(name))]
	return in, ok
}

// same reports whether in was recorded with exactly the spelling name.
func (s *nameSet) same(in nameInfo, name string) bool { return in.exact == s.hash(name) }

func (s *nameSet) set(name string, kind Kind, implicit bool) {
	s.m[s.hash(wintar.UpcaseNTFS(name))] = nameInfo{exact: s.hash(name), kind: kind, implicit: implicit}
}

// spelling returns how the layer spells name (which it holds under another
// case), reading the parent directory: the first entry there that equals
// name without case and is not spelt as name (name may already be on disk
// itself); name itself if it cannot tell.
func (s *nameSet) spelling(name string) string {
	dir, base := path.Split(name)
	des, err := os.ReadDir(path.Join(s.dir, dir))
	if err != nil {
		return name
	}
	for _, de := range des {
		if de.Name() != base && wintar.EqualFoldNTFS(de.Name(), base) {
			return dir + de.Name()
		}
	}
	return name
}

// spelling returns how the layer spells name, which it holds under another
// case: from the directory when the earlier entry is on disk already, else
// from the index written so far (a file's data may still be on its way to
// disk when the next entry arrives).
func (w *Writer) spelling(name string) string {
	if sp := w.names.spelling(name); sp != name {
		return sp
	}
	if w.idx == nil || w.idx.flush() != nil {
		return name
	}
	f, err := os.Open(filepath.Join(w.Dir(), metaDir, indexFile))
	if err != nil {
		return name
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	for {
		var e Entry
		if dec.Decode(&e) != nil {
			return name
		}
		if e.Name != name && wintar.EqualFoldNTFS(e.Name, name) {
			return e.Name
		}
	}
}
