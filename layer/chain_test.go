package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	lt "github.com/winlayer/winlayer/layer/layertest"
)

// chainStore returns a store with base, mid on base and top on mid.
func chainStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []struct{ id, parent string }{{"base", ""}, {"mid", "base"}, {"top", "mid"}} {
		var parents []string
		if l.parent != "" {
			parents = []string{s.Dir(l.parent)}
		}
		if err := s.Create(context.Background(), l.id, parents); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// ids returns the layer ids of store directories.
func ids(s *Store, dirs []string) []string {
	out := []string{}
	for _, d := range dirs {
		out = append(out, s.chainKey(d))
	}
	return out
}

func listIDs(t *testing.T, s *Store) []string {
	t.Helper()
	infos, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, in := range infos {
		out = append(out, in.ID)
	}
	return out
}

// TestChainRules: the parents of a new layer must make a whole chain; one
// parent stands for its chain; what is refused leaves the store as it was.
func TestChainRules(t *testing.T) {
	for _, tc := range []struct {
		name    string
		parents []string // ids in the store; "/..." as given; "rel:x" the relative path x
		pending bool
		want    []string // the stored chain, as ids
		err     error
		msg     []string // in the error
	}{
		{name: "base layer", parents: nil, want: []string{}},
		{name: "one parent expands to its chain", parents: []string{"top"}, want: []string{"top", "mid", "base"}},
		{name: "one base parent", parents: []string{"base"}, want: []string{"base"}},
		{name: "explicit whole chain", parents: []string{"mid", "base"}, want: []string{"mid", "base"}},
		{name: "misordered chain", parents: []string{"base", "mid"}, err: ErrBadChain,
			msg: []string{"[base mid]", "want [base]"}},
		{name: "incomplete chain", parents: []string{"top", "mid"}, err: ErrBadChain,
			msg: []string{"want [top mid base]"}},
		{name: "wrong grandparent", parents: []string{"mid", "top"}, err: ErrBadChain,
			msg: []string{"want [mid base]"}},
		{name: "repeated id", parents: []string{"base", "base"}, err: ErrBadChain, msg: []string{"base named twice"}},
		{name: "repeated in a chain", parents: []string{"mid", "base", "base"}, err: ErrBadChain, msg: []string{"base named twice"}},
		{name: "the layer itself", parents: []string{"new"}, err: ErrBadChain, msg: []string{"names the layer itself"}},
		{name: "missing parent", parents: []string{"nope"}, err: ErrNotExist, msg: []string{"parent nope"}},
		{name: "missing parent in a chain", parents: []string{"nope", "base"}, err: ErrNotExist, msg: []string{"parent nope"}},
		{name: "relative path", parents: []string{"rel:base"}, err: ErrBadChain, msg: []string{"not an absolute path"}},
		{name: "staging as parent", parents: []string{".staging"}, err: ErrInvalidID},

		{name: "pending: nothing committed yet", pending: true, parents: []string{"p2", "p1"}, want: []string{"p2", "p1"}},
		{name: "pending: on a committed base", pending: true, parents: []string{"p1", "base"}, want: []string{"p1", "base"}},
		{name: "pending: whole committed chain", pending: true, parents: []string{"mid", "base"}, want: []string{"mid", "base"}},
		{name: "pending: one parent is not expanded", pending: true, parents: []string{"mid"}, err: ErrBadChain,
			msg: []string{"mid exists with chain [base], the list says []"}},
		{name: "pending: committed parent disagrees", pending: true, parents: []string{"p2", "mid", "top"}, err: ErrBadChain,
			msg: []string{"mid exists with chain [base]", "the list says [top]"}},
		{name: "pending: repeated id", pending: true, parents: []string{"p1", "p1"}, err: ErrBadChain, msg: []string{"p1 named twice"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := chainStore(t)
			var parents []string
			for _, p := range tc.parents {
				if rel, ok := strings.CutPrefix(p, "rel:"); ok {
					parents = append(parents, rel)
				} else {
					parents = append(parents, s.Dir(p))
				}
			}
			var opts []ImportOption
			if tc.pending {
				opts = append(opts, WithPendingParents())
			}
			before := snapshot(t, s.Home())
			_, err := s.Import(context.Background(), "new", parents, bytes.NewReader(lt.Tar(lt.File("Files/a.txt", []byte("a")))), opts...)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("import on %v: %v, want %v", tc.parents, err, tc.err)
				}
				for _, m := range tc.msg {
					if !strings.Contains(err.Error(), m) {
						t.Errorf("error %q does not say %q", err, m)
					}
				}
				if after := snapshot(t, s.Home()); !reflect.DeepEqual(before, after) {
					t.Errorf("a refused import changed the store:\n%v\n%v", before, after)
				}
				return
			}
			if err != nil {
				t.Fatalf("import on %v: %v", tc.parents, err)
			}
			chain, err := ReadChain(s.Dir("new"))
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(s, chain); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("stored chain %v, want %v", got, tc.want)
			}
		})
	}
}

// TestResolveChain: a parent's whole chain, and the errors for a missing
// parent and for a parent whose chain has a gap.
func TestResolveChain(t *testing.T) {
	s := chainStore(t)
	got, err := s.ResolveChain(context.Background(), "top")
	if want := []string{s.Dir("top"), s.Dir("mid"), s.Dir("base")}; err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("ResolveChain(top) = %v, %v, want %v", got, err, want)
	}
	if _, err := s.ResolveChain(context.Background(), "nope"); !errors.Is(err, ErrNotExist) {
		t.Errorf("ResolveChain(nope): %v", err)
	}
	if _, err := s.RemoveForce(context.Background(), "base"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ResolveChain(context.Background(), "top"); !errors.Is(err, ErrBadChain) || !strings.Contains(err.Error(), "base, which is missing") {
		t.Errorf("ResolveChain(top) without base: %v", err)
	}
}

// TestChainHardLinkIntoGrandparent: a layer imported on its nearest parent
// alone may hard-link a file of a farther one (the chain is whole).
func TestChainHardLinkIntoGrandparent(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Import(ctx, "base", nil, bytes.NewReader(lt.Tar(lt.File("Files/deep.txt", []byte("deep"))))); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(ctx, "mid", []string{s.Dir("base")}, bytes.NewReader(lt.Tar(lt.File("Files/m.txt", []byte("m"))))); err != nil {
		t.Fatal(err)
	}
	link := lt.Tar(lt.Entry{Name: "Files/link.txt", Type: tar.TypeLink, Link: "Files/deep.txt"})
	if _, err := s.Import(ctx, "top", []string{s.Dir("mid")}, bytes.NewReader(link)); err != nil {
		t.Fatalf("hard link into the grandparent: %v", err)
	}
}

// TestPendingParentsCommitLater: under WithPendingParents the layers of an
// image import child first; once all are in, no parent is missing.
func TestPendingParentsCommitLater(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tarb := lt.Tar(lt.File("Files/a.txt", []byte("a")))
	for _, l := range []struct {
		id      string
		parents []string
	}{{"c", []string{"b", "a"}}, {"b", []string{"a"}}, {"a", nil}} {
		var dirs []string
		for _, p := range l.parents {
			dirs = append(dirs, s.Dir(p))
		}
		if _, err := s.Import(context.Background(), l.id, dirs, bytes.NewReader(tarb), WithPendingParents()); err != nil {
			t.Fatalf("import %s: %v", l.id, err)
		}
	}
	infos, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range infos {
		if len(in.MissingParents) != 0 {
			t.Errorf("layer %s: missing parents %v", in.ID, in.MissingParents)
		}
	}
	// Without the option a missing parent is refused.
	if _, err := s.Import(context.Background(), "d", []string{s.Dir("later")}, bytes.NewReader(tarb)); !errors.Is(err, ErrNotExist) {
		t.Errorf("import on a missing parent without WithPendingParents: %v", err)
	}
}

// TestRemoveNeededLayer: Remove refuses a layer other layers' chains name,
// naming them; RemoveForce removes it, says what it broke, and List marks
// the missing parent.
func TestRemoveNeededLayer(t *testing.T) {
	for _, tc := range []struct {
		id    string
		deps  []string
		force bool
	}{
		{id: "base", deps: []string{"mid", "top"}},
		{id: "mid", deps: []string{"top"}},
		{id: "top", deps: nil},
		{id: "base", deps: []string{"mid", "top"}, force: true},
		{id: "mid", deps: []string{"top"}, force: true},
	} {
		t.Run(tc.id, func(t *testing.T) {
			s := chainStore(t)
			deps, err := s.Dependants(context.Background(), tc.id)
			if err != nil || !reflect.DeepEqual(deps, tc.deps) {
				t.Fatalf("Dependants(%s) = %v, %v, want %v", tc.id, deps, err, tc.deps)
			}
			if !tc.force {
				err := s.Remove(context.Background(), tc.id)
				if len(tc.deps) == 0 {
					if err != nil || s.Exists(tc.id) {
						t.Fatalf("Remove(%s): %v", tc.id, err)
					}
					return
				}
				if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), strings.Join(tc.deps, ", ")) {
					t.Fatalf("Remove(%s): %v, want ErrInUse naming %v", tc.id, err, tc.deps)
				}
				if !s.Exists(tc.id) {
					t.Fatalf("refused Remove(%s) removed it", tc.id)
				}
				return
			}
			broken, err := s.RemoveForce(context.Background(), tc.id)
			if err != nil || !reflect.DeepEqual(broken, tc.deps) || s.Exists(tc.id) {
				t.Fatalf("RemoveForce(%s) = %v, %v (exists %v), want %v", tc.id, broken, err, s.Exists(tc.id), tc.deps)
			}
			infos, err := s.List(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range infos {
				wantMissing := []string{}
				if slices.Contains(tc.deps, in.ID) {
					wantMissing = []string{tc.id}
				}
				if !reflect.DeepEqual(in.MissingParents, wantMissing) {
					t.Errorf("layer %s: missing parents %v, want %v", in.ID, in.MissingParents, wantMissing)
				}
				if !reflect.DeepEqual(in.Parents, ids(s, in.ParentDirs)) || len(in.ParentDirs) > 0 && filepath.Dir(in.ParentDirs[0]) != s.Home() {
					t.Errorf("layer %s: parents %v, parent dirs %v", in.ID, in.Parents, in.ParentDirs)
				}
			}
			// The layer is gone: removing it again is no error, though
			// chains still name it.
			if err := s.Remove(context.Background(), tc.id); err != nil {
				t.Errorf("second Remove(%s): %v", tc.id, err)
			}
		})
	}
}
