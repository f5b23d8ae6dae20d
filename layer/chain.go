package layer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Chain rules. A layer's layerchain.json holds its parent layer
// directories, nearest first, and, as with moby and hcsshim, the whole
// chain: the nearest parent followed by that parent's own chain. Every
// new layer ([Store.Import], [Store.NewWriter], [Store.Create],
// [Store.ReplaceImport]) gets its chain checked by [Store.checkChain]:
//
//   - one parent P is expanded to P followed by P's stored chain;
//   - more than one parent must be exactly P followed by P's stored chain,
//     else the error (wrapping [ErrBadChain]) shows the expected chain;
//   - every parent must exist (a parent in the store as a layer, one
//     outside it as a directory), unless [WithPendingParents] is given;
//   - a parent named twice, or the layer itself as its own parent, is
//     refused.
//
// Parents are directories; one in the store (<home>/<id>) is shown and
// compared by its id, one outside it by its cleaned path.

// ImportOption configures how a new layer is made: [Store.Import],
// [Store.NewWriter], [Store.Create] and [Store.ReplaceImport] take them.
type ImportOption func(*importConfig)

type importConfig struct {
	pending       bool
	verify        func(diffID string) error
	sandboxSize   int64            // WithSandbox
	sandboxFormat SandboxFormatter // WithSandbox; nil: no sandbox
}

// WithPendingParents lets the parents of the new layer be layers that are
// not committed yet — a parallel pull imports all layers of an image at
// once. The parents must then be the whole chain, nearest first (one
// parent is not expanded): a parent that is missing is accepted, and
// every parent that exists must agree with the stated chain (its own
// stored chain is the rest of the list), else the error wraps
// [ErrBadChain]. A repeated parent is refused as always. A hard link into
// a parent that is not there yet cannot be resolved: such a tar fails
// with "failed to find link target" and must be imported after its
// parents are committed.
func WithPendingParents() ImportOption { return func(c *importConfig) { c.pending = true } }

// WithVerify has [Store.Import] and [Store.ReplaceImport] call verify
// with the DiffID of the tar they read ("sha256:<hex>") once the whole
// input was read and written, and before the layer is committed. An error from verify discards the layer
// (the store is left as it was) and is returned, wrapped, by Import. A
// pull uses it to check the DiffID against the image config and to finish
// reading and checking the compressed stream (its digest) first, so a
// layer whose download does not verify never appears in the store.
// For ReplaceImport an error keeps the old layer as it was.
func WithVerify(verify func(diffID string) error) ImportOption {
	return func(c *importConfig) { c.verify = verify }
}

func importConfigOf(opts []ImportOption) importConfig {
	var c importConfig
	for _, o := range opts {
		o(&c)
	}
	return c
}

// ResolveChain returns the chain of a new layer on layer parentID: the
// parent's directory followed by its stored chain (directories, nearest
// first), as the store writes it to layerchain.json. The error wraps
// [ErrNotExist] for a parent that is not in the store and [ErrBadChain]
// when a layer of the parent's chain is missing.
func (s *Store) ResolveChain(ctx context.Context, parentID string) ([]string, error) {
	if err := ValidateID(parentID); err != nil {
		return nil, fmt.Errorf("parent: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("parent %s: %w", parentID, err)
	}
	return s.expandChain(s.Dir(parentID))
}

// storeID returns the id of a parent directory in the store, or "" for a
// directory elsewhere (or a name in the home that is no layer id).
func (s *Store) storeID(dir string) string {
	dir = filepath.Clean(dir)
	if filepath.Dir(dir) != s.home {
		return ""
	}
	id := filepath.Base(dir)
	if ValidateID(id) != nil {
		return ""
	}
	return id
}

// chainKey is how a parent directory is compared and shown: its id when
// it is in the store, else its cleaned path.
func (s *Store) chainKey(dir string) string {
	if id := s.storeID(dir); id != "" {
		return id
	}
	return filepath.Clean(dir)
}

func (s *Store) showChain(dirs []string) string {
	keys := make([]string, len(dirs))
	for i, d := range dirs {
		keys[i] = s.chainKey(d)
	}
	return "[" + strings.Join(keys, " ") + "]"
}

// parentExists reports whether parent directory dir is there: a layer of
// the store, or a directory outside it.
func (s *Store) parentExists(dir string) bool {
	if id := s.storeID(dir); id != "" {
		return s.Exists(id)
	}
	fi, err := os.Stat(dir)
	return err == nil && fi.IsDir()
}

// chainOf reads the stored chain of parent directory dir.
func (s *Store) chainOf(dir string) ([]string, error) {
	if id := s.storeID(dir); id != "" {
		return s.readChain(id)
	}
	return ReadChain(dir)
}

// expandChain returns dir followed by its stored chain; dir and every
// layer of its chain must exist.
func (s *Store) expandChain(dir string) ([]string, error) {
	key := s.chainKey(dir)
	if !s.parentExists(dir) {
		if s.storeID(dir) != "" {
			return nil, fmt.Errorf("parent %s: %w", key, ErrNotExist)
		}
		return nil, fmt.Errorf("parent %s: not a directory: %w", key, ErrNotExist)
	}
	rest, err := s.chainOf(dir)
	if err != nil {
		return nil, fmt.Errorf("parent %s: %w", key, err)
	}
	for _, p := range rest {
		if !s.parentExists(p) {
			return nil, fmt.Errorf("parent %s: its chain %s names %s, which is missing: %w",
				key, s.showChain(rest), s.chainKey(p), ErrBadChain)
		}
	}
	return append([]string{filepath.Clean(dir)}, rest...), nil
}

// checkChain applies the chain rules (see the top of this file) to the
// parents of new layer id and returns the chain to store.
func (s *Store) checkChain(id string, parents []string, c importConfig) ([]string, error) {
	if len(parents) == 0 {
		return nil, nil
	}
	seen := map[string]bool{id: true}
	clean := make([]string, len(parents))
	for i, p := range parents {
		if !filepath.IsAbs(p) {
			return nil, fmt.Errorf("parent %q: not an absolute path: %w", p, ErrBadChain)
		}
		clean[i] = filepath.Clean(p)
		if filepath.Dir(clean[i]) == s.home {
			if err := ValidateID(filepath.Base(clean[i])); err != nil {
				return nil, fmt.Errorf("parent %s: %w", clean[i], err)
			}
		}
		key := s.chainKey(clean[i])
		if key == id && s.storeID(clean[i]) != "" {
			return nil, fmt.Errorf("parents %s: names the layer itself: %w", s.showChain(parents), ErrBadChain)
		}
		if seen[key] {
			return nil, fmt.Errorf("parents %s: %s named twice: %w", s.showChain(parents), key, ErrBadChain)
		}
		seen[key] = true
	}
	if err := s.checkParents(clean); err != nil {
		return nil, err
	}
	if c.pending {
		return clean, s.checkPending(clean)
	}
	want, err := s.expandChain(clean[0])
	if err != nil {
		return nil, err
	}
	if len(clean) == 1 {
		if s.containsKey(want, id) {
			return nil, fmt.Errorf("parent %s: its chain %s names the layer itself: %w", s.chainKey(clean[0]), s.showChain(want[1:]), ErrBadChain)
		}
		return want, nil
	}
	if !s.sameChain(clean, want) {
		return nil, fmt.Errorf("parents %s are not %s's chain: want %s (%s followed by its own parents, nearest first): %w",
			s.showChain(clean), s.chainKey(clean[0]), s.showChain(want), s.chainKey(clean[0]), ErrBadChain)
	}
	return clean, nil
}

// checkPending checks a stated chain under [WithPendingParents]: every
// parent that exists has the rest of the list as its own chain.
func (s *Store) checkPending(chain []string) error {
	for i, p := range chain {
		if !s.parentExists(p) {
			continue
		}
		got, err := s.chainOf(p)
		if err != nil {
			return fmt.Errorf("parent %s: %w", s.chainKey(p), err)
		}
		if !s.sameChain(got, chain[i+1:]) {
			return fmt.Errorf("parents %s: %s exists with chain %s, the list says %s: %w",
				s.showChain(chain), s.chainKey(p), s.showChain(got), s.showChain(chain[i+1:]), ErrBadChain)
		}
	}
	return nil
}

func (s *Store) sameChain(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if s.chainKey(a[i]) != s.chainKey(b[i]) {
			return false
		}
	}
	return true
}

func (s *Store) containsKey(chain []string, id string) bool {
	for _, p := range chain {
		if s.storeID(p) == id {
			return true
		}
	}
	return false
}

// Dependants returns the ids of the layers whose chain names layer id (as
// a parent at any depth), sorted. A layer whose chain cannot be read is an
// error: it might need id. A cancelled ctx stops it between layers with
// ctx's error.
func (s *Store) Dependants(ctx context.Context, id string) ([]string, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	des, err := os.ReadDir(s.home)
	if err != nil {
		return nil, fmt.Errorf("dependants of %s: %w", id, err)
	}
	var out []string
	var errs []error
	for _, de := range des {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("dependants of %s: %w", id, err)
		}
		other := de.Name()
		if other == id || !de.IsDir() || ValidateID(other) != nil {
			continue
		}
		chain, err := s.readChain(other)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed meanwhile
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("dependants of %s: layer %s: %w", id, other, err))
			continue
		}
		if s.containsKey(chain, id) {
			out = append(out, other)
		}
	}
	sort.Strings(out)
	return out, errors.Join(errs...)
}

// describeParents fills info's Parents and MissingParents from its
// ParentDirs (never nil, for JSON).
func (s *Store) describeParents(info *Info) {
	if info.ParentDirs == nil {
		info.ParentDirs = []string{}
	}
	info.Parents, info.MissingParents = []string{}, []string{}
	for _, p := range info.ParentDirs {
		key := s.chainKey(p)
		info.Parents = append(info.Parents, key)
		if !s.parentExists(p) {
			info.MissingParents = append(info.MissingParents, key)
		}
	}
}

// RemoveForce is [Store.Remove] also of a layer that other layers' chains
// name: it returns the ids of those layers, which now have a missing
// parent (see [Info.MissingParents]).
func (s *Store) RemoveForce(ctx context.Context, id string) (broken []string, err error) {
	return s.remove(ctx, id, true)
}
