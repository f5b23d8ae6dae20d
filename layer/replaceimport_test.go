package layer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	lt "github.com/winlayer/winlayer/layer/layertest"
)

// importers are the two ways into a layer that share Import's contract:
// Import of a new id and ReplaceImport of a layer made with Create. Each
// returns whether the new content is the layer's now.
var importers = []struct {
	name    string
	prepare func(t *testing.T, s *Store) // the layer "l" before the call
	call    func(ctx context.Context, s *Store, r io.Reader, opts ...ImportOption) (int64, error)
}{
	{"Import", func(*testing.T, *Store) {}, func(ctx context.Context, s *Store, r io.Reader, opts ...ImportOption) (int64, error) {
		return s.Import(ctx, "l", nil, r, opts...)
	}},
	{"ReplaceImport", func(t *testing.T, s *Store) { mustDo(t, s.Create(context.Background(), "l", nil)) },
		func(ctx context.Context, s *Store, r io.Reader, opts ...ImportOption) (int64, error) {
			return s.ReplaceImport(ctx, "l", nil, r, opts...)
		}},
}

// hasNewContent reports whether layer l holds Files/a.txt, the file of
// the tar the tests import.
func hasNewContent(s *Store) bool {
	_, err := os.Stat(filepath.Join(s.Dir("l"), "Files", "a.txt"))
	return err == nil
}

// TestImportersVerify: Import and ReplaceImport both call WithVerify's
// hook with the tar's DiffID before the commit; its error leaves the
// layer as it was (absent, or the old content) and staging empty.
func TestImportersVerify(t *testing.T) {
	tarb := lt.Tar(lt.Dir("Files"), lt.File("Files/a.txt", []byte("verify me")))
	sum := sha256.Sum256(tarb)
	want := "sha256:" + hex.EncodeToString(sum[:])
	errNo := errors.New("digest says no")
	for _, im := range importers {
		for _, verdict := range []error{nil, errNo} {
			t.Run(im.name+"/"+map[bool]string{true: "accept", false: "refuse"}[verdict == nil], func(t *testing.T) {
				s, err := Open(t.TempDir())
				mustDo(t, err)
				im.prepare(t, s)
				existed := s.Exists("l")
				var got string
				_, err = im.call(context.Background(), s, bytes.NewReader(tarb), WithVerify(func(d string) error {
					got = d
					if hasNewContent(s) {
						t.Error("the new content is in place before verify returned")
					}
					return verdict
				}))
				if got != want {
					t.Errorf("verify saw DiffID %q, want %q", got, want)
				}
				if !errors.Is(err, verdict) || (verdict == nil) != (err == nil) {
					t.Fatalf("%s: %v, want %v", im.name, err, verdict)
				}
				if hasNewContent(s) != (verdict == nil) {
					t.Errorf("new content in place %v after verdict %v", hasNewContent(s), verdict)
				}
				if verdict != nil && s.Exists("l") != existed {
					t.Errorf("layer exists %v after a refusal, was %v", s.Exists("l"), existed)
				}
				if names, _ := os.ReadDir(filepath.Join(s.Home(), stagingDir)); verdict != nil && len(names) != 0 {
					t.Errorf("staging keeps %d entries after a refused verify", len(names))
				}
			})
		}
	}
}

// TestImportersCancelAtEnd: a cancel that arrives with the end of the tar
// (here: while the verify hook runs, after the whole tar was read, and on
// the read that returns io.EOF) still aborts Import and ReplaceImport
// before the commit, with an error wrapping context.Canceled.
func TestImportersCancelAtEnd(t *testing.T) {
	tarb := lt.Tar(lt.Dir("Files"), lt.File("Files/a.txt", []byte("cancel me")))
	for _, im := range importers {
		for _, how := range []string{"in verify", "at EOF"} {
			t.Run(im.name+"/"+how, func(t *testing.T) {
				s, err := Open(t.TempDir())
				mustDo(t, err)
				im.prepare(t, s)
				existed := s.Exists("l")
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var r io.Reader = bytes.NewReader(tarb)
				var opts []ImportOption
				if how == "in verify" {
					opts = append(opts, WithVerify(func(string) error { cancel(); return nil }))
				} else {
					r = &cancelAtEOF{r: r, cancel: cancel}
				}
				if _, err := im.call(ctx, s, r, opts...); !errors.Is(err, context.Canceled) {
					t.Fatalf("%s cancelled %s: %v, want context.Canceled", im.name, how, err)
				}
				if hasNewContent(s) || s.Exists("l") != existed {
					t.Errorf("cancelled %s: new content %v, layer exists %v (was %v)", how, hasNewContent(s), s.Exists("l"), existed)
				}
			})
		}
	}
}

// cancelAtEOF cancels its context on the read that returns io.EOF.
type cancelAtEOF struct {
	r      io.Reader
	cancel context.CancelFunc
}

func (c *cancelAtEOF) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err == io.EOF {
		c.cancel()
	}
	return n, err
}
