package layer

import (
	"hash/maphash"
	"os"
	"path"
	"strings"
)

// nameSet remembers every name a Writer has put in its layer, by a 64-bit
// hash of its lower-cased form (for the case-insensitive duplicate check
// Windows needs) and a hash of its exact spelling: about 40 bytes a name,
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
	in, ok := s.m[s.hash(strings.ToLower(name))]
	return in, ok
}

// same reports whether in was recorded with exactly the spelling name.
func (s *nameSet) same(in nameInfo, name string) bool { return in.exact == s.hash(name) }

func (s *nameSet) set(name string, kind Kind, implicit bool) {
	s.m[s.hash(strings.ToLower(name))] = nameInfo{exact: s.hash(name), kind: kind, implicit: implicit}
}

// spelling returns how the layer spells name (which it holds under another
// case), reading the parent directory; name itself if it cannot tell.
func (s *nameSet) spelling(name string) string {
	dir, base := path.Split(name)
	des, err := os.ReadDir(path.Join(s.dir, dir))
	if err != nil {
		return name
	}
	for _, de := range des {
		if strings.EqualFold(de.Name(), base) {
			return dir + de.Name()
		}
	}
	return name
}
