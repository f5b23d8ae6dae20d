package layer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// importsNeeding returns the ids of the layers being imported (a staging
// directory whose import is still running) whose chain names layer id,
// sorted. A Writer writes its chain into its staging directory when it
// starts, so [Store.Remove] can refuse a parent that an import in progress
// needs instead of letting that import fail at its commit. Staging
// directories it cannot read are skipped: the commit's own check under
// the store lock is what keeps the store consistent.
func (s *Store) importsNeeding(ctx context.Context, id string) ([]string, error) {
	dir, err := openDirBeneath(s.home, stagingDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	names, err := dir.Readdirnames(-1)
	dir.Close()
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if strings.HasSuffix(n, lockSuffix) {
			continue
		}
		b, err := readFileBeneath(s.home, filepath.Join(stagingDir, n, chainFile))
		if err != nil {
			continue // not started yet, or gone
		}
		chain, err := parseChain(b)
		if err != nil || !s.containsKey(chain, id) {
			continue
		}
		if !stageLive(filepath.Join(s.home, stagingDir, n+lockSuffix)) {
			continue // debris of an import that died: Cleanup's
		}
		kid := n
		if i := strings.LastIndexByte(n, '.'); i > 0 {
			kid = n[:i]
		}
		if !seen[kid] {
			seen[kid] = true
			out = append(out, kid)
		}
	}
	sort.Strings(out)
	return out, nil
}

// parseChain parses the contents of a layerchain.json ("null" or empty:
// no parents).
func parseChain(b []byte) ([]string, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var chain []string
	if err := json.Unmarshal(b, &chain); err != nil {
		return nil, fmt.Errorf("failed to unmarshal layerchain JSON: %w: %w", err, ErrCorrupt)
	}
	return chain, nil
}

// writeStageChain writes the chain of a new layer into its staging
// directory at once (see importsNeeding); the commit writes it again.
func writeStageChain(dir string, chain []string) error {
	b, _ := json.Marshal(chain)
	return os.WriteFile(filepath.Join(dir, chainFile), b, chainMode)
}
