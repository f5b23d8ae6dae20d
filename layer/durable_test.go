package layer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	lt "github.com/winlayer/winlayer/layer/layertest"
)

// sysLog records the durability calls made through durable.go's
// variables, with paths relative to the store's home and staging names
// shown as .staging/S, and a digest of the staging tree at each syncfs.
type sysLog struct {
	home    string
	calls   []string
	synced  map[string]string // staging directory → its tree digest when flushed
	failOn  string            // a call (as logged) to fail instead of making
	failErr error
}

var stagingName = regexp.MustCompile(`^\.staging/[^/]+$`)

func (l *sysLog) rel(p string) string {
	r, err := filepath.Rel(l.home, p)
	if err != nil || strings.HasPrefix(r, "..") {
		return p
	}
	r = filepath.ToSlash(r)
	if stagingName.MatchString(r) {
		return ".staging/S"
	}
	return r
}

// call logs one call and says whether to make it.
func (l *sysLog) call(op string, paths ...string) error {
	c := op
	for _, p := range paths {
		c += " " + l.rel(p)
	}
	l.calls = append(l.calls, c)
	if c == l.failOn {
		return l.failErr
	}
	return nil
}

// recordSys replaces the durability calls with ones that log, then make
// the real call, until the test ends.
func recordSys(t *testing.T, home string) *sysLog {
	l := &sysLog{home: home, synced: map[string]string{}}
	realSyncFS, realSyncDir := syncFS, syncDir
	realRename, realExchange := renameNoReplace, exchange
	t.Cleanup(func() {
		syncFS, syncDir, renameNoReplace, exchange = realSyncFS, realSyncDir, realRename, realExchange
	})
	syncFS = func(dir string) error {
		if err := l.call("syncfs", dir); err != nil {
			return err
		}
		l.synced[dir] = treeDigest(t, dir)
		return realSyncFS(dir)
	}
	syncDir = func(dir string) error {
		if err := l.call("syncdir", dir); err != nil {
			return err
		}
		return realSyncDir(dir)
	}
	renameNoReplace = func(from, to string) error {
		if err := l.call("rename", from, to); err != nil {
			return err
		}
		return realRename(from, to)
	}
	exchange = func(a, b string) error {
		if err := l.call("exchange", a, b); err != nil {
			return err
		}
		return realExchange(a, b)
	}
	return l
}

// treeDigest sums up every name, type, mode, size and content under dir.
func treeDigest(t *testing.T, dir string) string {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %v %d\n", rel, fi.Mode(), fi.Size())
		switch {
		case fi.Mode().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := io.Copy(h, f); err != nil {
				return err
			}
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			fmt.Fprintln(h, target)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("digest of %s: %v", dir, err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestCommitDurability records the durability calls of every kind of
// commit: the staging directory is flushed (syncfs) with all the layer's
// data, metadata and layerchain.json in it — the layer's content when
// flushed is its final content — before the rename (or exchange) that
// publishes it, and the store's directory is fsynced after, so that the
// rename is durable. Leaving out any of the three calls fails the test.
func TestCommitDurability(t *testing.T) {
	big := lt.Bytes(3, 9<<20) // data the sink writes in the background
	base := lt.Tar(lt.Dir("Files"), lt.File("Files/big.bin", big), lt.File("Files/small.txt", []byte("hi")))
	child := lt.Mixed()
	publish := []string{"syncfs .staging/S", "rename .staging/S %s", "syncdir ."}
	tests := []struct {
		name   string
		id     string
		commit func(s *Store) error
		want   []string // %s: the layer id
	}{
		{"import base", "base", func(s *Store) error {
			_, err := s.Import(context.Background(), "base", nil, bytes.NewReader(base))
			return err
		}, publish},
		{"import child", "child", func(s *Store) error {
			_, err := s.Import(context.Background(), "child", []string{s.Dir("p")}, bytes.NewReader(child))
			return err
		}, publish},
		{"create", "empty", func(s *Store) error { return s.Create(context.Background(), "empty", []string{s.Dir("p")}) }, publish},
		{"replace import", "rep", func(s *Store) error {
			_, err := s.ReplaceImport(context.Background(), "rep", nil, bytes.NewReader(base))
			return err
		}, []string{"syncfs .staging/S", "exchange .staging/S %s", "syncdir ."}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			s, err := Open(home)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Import(context.Background(), "p", nil, bytes.NewReader(base)); err != nil {
				t.Fatal(err)
			}
			if err := s.Create(context.Background(), "rep", nil); err != nil {
				t.Fatal(err)
			}
			l := recordSys(t, home)
			if err := tc.commit(s); err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, w := range tc.want {
				want = append(want, strings.ReplaceAll(w, "%s", tc.id))
			}
			if !slices.Equal(l.calls, want) {
				t.Fatalf("durability calls:\n  %s\nwant:\n  %s", strings.Join(l.calls, "\n  "), strings.Join(want, "\n  "))
			}
			if len(l.synced) != 1 {
				t.Fatalf("%d staging directories flushed, want 1", len(l.synced))
			}
			for _, digest := range l.synced {
				if final := treeDigest(t, s.Dir(tc.id)); final != digest {
					t.Errorf("layer %s changed after its flush: what was made durable is not the committed layer", tc.id)
				}
			}
		})
	}
}

// TestCommitDurabilityErrors fails each durability call of an import: a
// failed flush or rename leaves the store as it was (no layer, no
// staging debris); a failed fsync of the store's directory after the
// rename reports ErrCommittedNotDurable with the layer in place.
func TestCommitDurabilityErrors(t *testing.T) {
	in := lt.Tar(lt.Dir("Files"), lt.File("Files/a.txt", []byte("abc")))
	errFail := errors.New("injected")
	tests := []struct {
		failOn    string
		committed bool
	}{
		{"syncfs .staging/S", false},
		{"rename .staging/S new", false},
		{"syncdir .", true},
	}
	for _, tc := range tests {
		t.Run(tc.failOn, func(t *testing.T) {
			home := t.TempDir()
			s, err := Open(home)
			if err != nil {
				t.Fatal(err)
			}
			l := recordSys(t, home)
			l.failOn, l.failErr = tc.failOn, errFail
			_, err = s.Import(context.Background(), "new", nil, bytes.NewReader(in))
			if !errors.Is(err, errFail) {
				t.Fatalf("Import: %v, want the injected error", err)
			}
			if got := errors.Is(err, ErrCommittedNotDurable); got != tc.committed {
				t.Errorf("ErrCommittedNotDurable %v, want %v (%v)", got, tc.committed, err)
			}
			if s.Exists("new") != tc.committed {
				t.Errorf("layer exists %v, want %v", s.Exists("new"), tc.committed)
			}
			des, err := os.ReadDir(filepath.Join(home, stagingDir))
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.Fatal(err)
			}
			if len(des) != 0 {
				t.Errorf("staging debris: %d entries", len(des))
			}
		})
	}
}
