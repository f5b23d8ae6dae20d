package layer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"
)

// Names in the home directory and in a layer directory.
const (
	stagingDir     = ".staging"  // in the home: imports in progress
	removingSuffix = "-removing" // <id>-removing: a removal in progress
	metaDir        = ".winlayer" // in a layer: winlayer's metadata
	chainFile      = "layerchain.json"
	layerIDFile    = "layerID"
	layerIDLegacy  = "layerId"
	maxIDLen       = 128
)

// Store is a home directory of layers, one directory per layer id.
// Methods are safe for concurrent use by several goroutines and processes
// as far as the file system makes them: imports are staged and renamed
// into place, removals renamed away before deletion.
type Store struct {
	home      string
	log       *slog.Logger
	noCleanup bool
	readOnly  bool
}

// Option configures [Open].
type Option func(*Store)

// WithoutCleanup makes [Open] leave debris alone (for a helper process
// working beside another that owns the store).
func WithoutCleanup() Option { return func(s *Store) { s.noCleanup = true } }

// WithLogger sets the store's logger (default slog.Default()): warnings
// (a replaced layer's old content left for cleanup) and, at debug level,
// what Cleanup removed.
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// Open opens (creating if needed) the store in home and removes debris of
// interrupted imports and removals ([Store.Cleanup]).
func Open(home string, opts ...Option) (*Store, error) {
	abs, err := filepath.Abs(home)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", home, err)
	}
	s := &Store{home: abs, log: slog.Default()}
	for _, o := range opts {
		o(s)
	}
	// The home is readable by all, as the layers in it are (0755
	// directories, 0644 files), so that other users can list, inspect,
	// export and check a store; only .staging is private.
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("open store %s: %w", abs, err)
	}
	if err := mkdirBeneath(abs, stagingDir, 0o700); err != nil {
		return nil, fmt.Errorf("open store %s: %w", abs, err)
	}
	if err := s.makeStoreLock(); err != nil {
		return nil, fmt.Errorf("open store %s: %w", abs, err)
	}
	if !s.noCleanup {
		if err := s.Cleanup(context.Background()); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Home returns the store's absolute home directory.
func (s *Store) Home() string { return s.home }

// ValidateID checks a layer id: 1 to 128 characters of [A-Za-z0-9_.-],
// starting with a letter or digit, not ending in "-removing". The error
// wraps [ErrInvalidID].
func ValidateID(id string) error {
	if id == "" || len(id) > maxIDLen {
		return fmt.Errorf("%q: length %d not in 1..%d (%s): %w", id, len(id), maxIDLen, idRule, ErrInvalidID)
	}
	pos := 0
	for i, c := range id {
		pos++
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || (i > 0 && (c == '_' || c == '.' || c == '-'))
		if ok {
			continue
		}
		what := fmt.Sprintf("%q (U+%04X)", c, c)
		if c == utf8.RuneError && !strings.HasPrefix(id[i:], string(utf8.RuneError)) {
			what = fmt.Sprintf("byte %#02x (not UTF-8)", id[i])
		} else if i == 0 && (c == '_' || c == '.' || c == '-') {
			what = fmt.Sprintf("%q first", c)
		}
		return fmt.Errorf("%q: character %d is %s (%s): %w", id, pos, what, idRule, ErrInvalidID)
	}
	if strings.HasSuffix(id, removingSuffix) {
		return fmt.Errorf("%q: ends in %q, which the store uses while removing a layer: %w", id, removingSuffix, ErrInvalidID)
	}
	return nil
}

// idRule says which ids are valid, for error messages.
const idRule = "an id is letters A-Z a-z, digits 0-9 and _ . -, starting with a letter or digit"

// Dir returns the directory of layer id (which need not exist).
func (s *Store) Dir(id string) string { return filepath.Join(s.home, id) }

// Exists reports whether layer id is in the store, complete: a real
// directory (a symlink in its place is not a layer: the methods that
// return errors report it as corruption).
func (s *Store) Exists(id string) bool {
	if ValidateID(id) != nil {
		return false
	}
	fi, err := lstatBeneath(s.home, id)
	return err == nil && fi.IsDir()
}

// Info describes a layer for listings.
type Info struct {
	// ID is the layer id.
	ID string `json:"id"`
	// Dir is the layer directory.
	Dir string `json:"dir"`
	// Parents are the parent layer ids, nearest first (a parent outside
	// the store by its path).
	Parents []string `json:"parents"`
	// ParentDirs are the parent layer directories as stored in
	// layerchain.json, nearest first.
	ParentDirs []string `json:"parent_dirs"`
	// MissingParents are the entries of Parents that are not there (a
	// parent removed with [Store.RemoveForce]).
	MissingParents []string `json:"missing_parents"`
	// Meta is winlayer's summary of the layer (nil for a layer winlayer did not import).
	Meta *Meta `json:"meta,omitempty"`
}

// List returns the layers of the store sorted by id. A cancelled ctx
// stops it between layers with ctx's error.
func (s *Store) List(ctx context.Context) ([]Info, error) {
	des, err := os.ReadDir(s.home)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", s.home, err)
	}
	var out []Info
	for _, de := range des {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("list %s: %w", s.home, err)
		}
		id := de.Name()
		if ValidateID(id) != nil {
			continue
		}
		if de.Type()&fs.ModeSymlink != 0 {
			return nil, fmt.Errorf("list: %w", symlinkAt(s.Dir(id)))
		}
		if !de.IsDir() {
			continue
		}
		if err := s.checkLayer(id); err != nil {
			return nil, fmt.Errorf("list: %w", err)
		}
		info := Info{ID: id, Dir: s.Dir(id)}
		if info.ParentDirs, err = s.readChain(id); err != nil {
			return nil, fmt.Errorf("layer %s: %w", id, err)
		}
		s.describeParents(&info)
		if m, err := readMeta(info.Dir); err == nil {
			info.Meta = m
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("layer %s: %w", id, err)
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// ReadChain reads layerchain.json of a layer directory: the parent layer
// paths, nearest first. A missing file or "null" is an empty chain.
func ReadChain(dir string) ([]string, error) {
	return decodeChain(os.ReadFile(filepath.Join(dir, chainFile)))
}

// decodeChain decodes the content b of a layerchain.json file read with
// error err (a missing file is an empty chain).
func decodeChain(b []byte, err error) ([]string, error) {
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if errors.Is(err, fs.ErrPermission) {
		return nil, fmt.Errorf("read layerchain file: %w (a file of mode 0600, as moby and older winlayer versions wrote it: run as its owner, or chmod 644 it)", err)
	}
	if err != nil {
		return nil, fmt.Errorf("read layerchain file: %w", err)
	}
	var chain []string
	if err := json.Unmarshal(b, &chain); err != nil {
		return nil, fmt.Errorf("failed to unmarshal layerchain JSON: %w: %w", err, ErrCorrupt)
	}
	return chain, nil
}

// chainMode is the mode of layerchain.json: 0644, where moby writes 0600:
// the chain is no secret, and read-only commands of other users need it.
const chainMode = 0o644

// ResolveID returns the alternate id stored in the layer's layerID (or
// legacy layerId) file, or id itself when there is none. The stored id is
// validated like any id.
func (s *Store) ResolveID(ctx context.Context, id string) (string, error) {
	if err := ValidateID(id); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("layer %s: %w", id, err)
	}
	for _, name := range []string{layerIDFile, layerIDLegacy} {
		b, err := readFileBeneath(s.home, filepath.Join(id, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("layer %s: read %s: %w", id, name, err)
		}
		alt := string(b)
		if err := ValidateID(alt); err != nil {
			return "", fmt.Errorf("layer %s: %s: %w", id, name, err)
		}
		return alt, nil
	}
	return id, nil
}

// Remove deletes layer id: the directory is first renamed to
// <id>-removing (one atomic step: the layer is gone for every reader),
// then deleted. Removing a layer that does not exist is not an error. If
// deletion fails the -removing directory stays for [Store.Cleanup] and the
// error is returned.
//
// A layer that other layers' chains name ([Store.Dependants]) is not
// removed: the error names them and wraps [ErrInUse]; [Store.RemoveForce]
// removes it anyway. So is a layer that an import in progress (a live
// [Writer], whose chain names id) needs: the error names the layer being
// imported. The checks and the rename hold the store lock (see
// storelock.go), as a commit's final check of its parents does, so a
// layer being imported on id either commits first (and Remove refuses,
// naming it) or, after RemoveForce, finds id gone and fails, storing
// nothing.
//
// A cancelled ctx stops Remove before the rename (the layer stays) or,
// after it, between the entries it deletes (the layer is gone and the
// rest is left for Cleanup); the error wraps ctx's error.
func (s *Store) Remove(ctx context.Context, id string) error {
	_, err := s.remove(ctx, id, false)
	return err
}

func (s *Store) remove(ctx context.Context, id string, force bool) ([]string, error) {
	if err := ValidateID(id); err != nil {
		return nil, fmt.Errorf("remove: %w", err)
	}
	if s.readOnly {
		return nil, fmt.Errorf("remove %s: %w", id, ErrReadOnly)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("remove %s: %w", id, err)
	}
	gone := id + removingSuffix
	if err := removeAllBeneath(ctx, s.home, gone); err != nil {
		return nil, fmt.Errorf("remove %s: stale %s: %w", id, gone, err)
	}
	deps, renamed, err := s.renameAway(ctx, id, gone, force)
	if err != nil || !renamed {
		return deps, err
	}
	if err := syncDir(s.home); err != nil {
		return deps, fmt.Errorf("remove %s: %w", id, err)
	}
	faultPoint("remove:after-rename")
	if err := removeAllBeneath(ctx, s.home, gone); err != nil {
		return deps, fmt.Errorf("remove %s: delete %s (left for cleanup): %w", id, filepath.Join(s.home, gone), err)
	}
	return deps, nil
}

// renameAway renames layer id to gone under the store lock once no
// committed layer needs it (or force); renamed is false for a layer that
// is not there.
func (s *Store) renameAway(ctx context.Context, id, gone string, force bool) (deps []string, renamed bool, err error) {
	lk, err := s.lockStore()
	if err != nil {
		return nil, false, fmt.Errorf("remove %s: %w", id, err)
	}
	defer lk.Unlock()
	faultPoint("remove:store-locked")
	fi, err := lstatBeneath(s.home, id)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err == nil {
		err = wantDir(s.home, id, fi)
	}
	if err != nil {
		return nil, false, fmt.Errorf("remove %s: %w", id, err)
	}
	deps, err = s.Dependants(ctx, id)
	if cerr := ctx.Err(); cerr != nil {
		return nil, false, fmt.Errorf("remove %s: %w", id, cerr)
	}
	if err != nil && !force {
		return nil, false, fmt.Errorf("remove %s: %w", id, err)
	}
	if len(deps) > 0 && !force {
		return deps, false, fmt.Errorf("remove %s: needed by %s (their parent chains name it): %w", id, strings.Join(deps, ", "), ErrInUse)
	}
	busy, err := s.importsNeeding(ctx, id)
	if err != nil && !force {
		return nil, false, fmt.Errorf("remove %s: imports in progress: %w", id, err)
	}
	if len(busy) > 0 && !force {
		return nil, false, fmt.Errorf("remove %s: needed by %s, being imported now (its parent chain names it): %w", id, strings.Join(busy, ", "), ErrInUse)
	}
	faultPoint("remove:before-rename")
	if err := renameBeneath(s.home, id, gone); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("remove %s: %w", id, err)
	}
	if len(busy) > 0 {
		s.log.Warn("removed a layer that imports in progress need: they will fail", "layer", id, "importing", strings.Join(busy, ", "))
	}
	return deps, true, nil
}

// Cleanup removes what interrupted operations left in the home: every
// <id>-removing directory and every staging directory no live import
// holds (see newStage). A symlink where such a directory should be is
// reported as corruption and left alone. Errors are joined, not dropped.
// A cancelled ctx stops it between entries (what it did not reach stays
// for the next Cleanup); the error then wraps ctx's error.
func (s *Store) Cleanup(ctx context.Context) error {
	if s.readOnly {
		return fmt.Errorf("cleanup %s: %w", s.home, ErrReadOnly)
	}
	var errs []error
	des, err := os.ReadDir(s.home)
	if err != nil {
		return fmt.Errorf("cleanup %s: %w", s.home, err)
	}
	for _, de := range des {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, fmt.Errorf("cleanup %s: %w", s.home, err))...)
		}
		// Only <id>-removing: dot-directories (the image index, kept
		// blobs) are not layers, whatever their name ends with.
		if !strings.HasSuffix(de.Name(), removingSuffix) || ValidateID(strings.TrimSuffix(de.Name(), removingSuffix)) != nil {
			continue
		}
		if de.Type()&fs.ModeSymlink != 0 {
			errs = append(errs, fmt.Errorf("cleanup: %w", symlinkAt(filepath.Join(s.home, de.Name()))))
			continue
		}
		if de.IsDir() {
			if err := removeAllBeneath(ctx, s.home, de.Name()); err != nil {
				errs = append(errs, fmt.Errorf("cleanup %s: %w", de.Name(), err))
				continue
			}
			s.log.Debug("removed what an interrupted removal left", "dir", filepath.Join(s.home, de.Name()))
		}
	}
	errs = append(errs, s.cleanStaging(ctx)...)
	return errors.Join(errs...)
}

// sysSyncDir fsyncs the directory dir where that makes its entries durable.
func sysSyncDir(dir string) error {
	if !dirSyncWorks {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Meta returns winlayer's summary of layer id.
func (s *Store) Meta(ctx context.Context, id string) (*Meta, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("layer %s: %w", id, err)
	}
	if err := s.checkLayer(id); err != nil {
		return nil, err
	}
	m, err := readMeta(s.Dir(id))
	if errors.Is(err, fs.ErrNotExist) {
		if !s.Exists(id) {
			return nil, fmt.Errorf("layer %s: %w", id, ErrNotExist)
		}
		return nil, fmt.Errorf("layer %s: no winlayer metadata: %w", id, ErrCorrupt)
	}
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", id, err)
	}
	return m, nil
}

// Entries returns the index of layer id in import order, and the table of
// security descriptors its entries' SD numbers refer to (1-based).
func (s *Store) Entries(ctx context.Context, id string) ([]*Entry, [][]byte, error) {
	if err := ValidateID(id); err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("layer %s: %w", id, err)
	}
	if err := s.checkLayer(id); err != nil {
		return nil, nil, err
	}
	e, sds, err := readIndex(s.Dir(id))
	if err != nil {
		return nil, nil, fmt.Errorf("layer %s: %w", id, err)
	}
	return e, sds, nil
}
