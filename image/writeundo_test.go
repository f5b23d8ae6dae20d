package image

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/winlayer/winlayer/layer/layertest"
)

// brokenLayoutImage writes img into a new layout at dir and deletes the
// blob of its last layer: a source missing a blob.
func brokenLayoutImage(t *testing.T, dir string, img v1.Image) v1.Image {
	t.Helper()
	writeLayout(t, dir, img, "s")
	ls := mustLayers(t, img)
	d, err := ls[len(ls)-1].Digest()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(blobPath(dir, d)); err != nil {
		t.Fatal(err)
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	md, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Image(md)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestWriteFailureLeavesDestination: a copy or save that fails part-way (a
// source blob missing after two layers were written, or a cancel) leaves
// the destination as it found it: a layout directory it created is gone
// (with the parents it created), an empty directory stays empty, an
// existing layout keeps its index.json and exactly its blobs (one shared
// with the failed image included), a docker-archive FILE is not created or
// is left as it was.
func TestWriteFailureLeavesDestination(t *testing.T) {
	ctx := context.Background()
	tars := testLayerTars(61, 3)
	src := testImage(t, "windows", "amd64", "10.0.20348.1", tars, false)
	other := testImage(t, "windows", "amd64", "10.0.20348.1", append(tars[:1:1], testLayerTars(62, 2)[1]), false)
	good := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(63, 2), false)
	if a, b := mustDigest(t, mustLayers(t, src)[0]), mustDigest(t, mustLayers(t, other)[0]); a != b {
		t.Fatalf("the images do not share their base blob: %s, %s", a, b)
	}
	srcDir := filepath.Join(t.TempDir(), "src")
	broken := brokenLayoutImage(t, srcDir, src)
	brokenLoc := Location{Kind: KindOCI, Path: srcDir, Tag: "s"}
	// A source whose last layer blob is damaged (same size, zeros).
	damagedDir := filepath.Join(t.TempDir(), "damaged")
	writeLayout(t, damagedDir, src, "s")
	last := blobPath(damagedDir, mustDigest(t, mustLayers(t, src)[2]))
	if fi, err := os.Stat(last); err != nil {
		t.Fatal(err)
	} else if err := os.WriteFile(last, make([]byte, fi.Size()), 0o644); err != nil {
		t.Fatal(err)
	}
	copyDamaged := func(ctx context.Context, dst Location) error {
		_, err := Copy(ctx, Location{Kind: KindOCI, Path: damagedDir, Tag: "s"}, dst, Config{Jobs: 1}, CopyOptions{})
		return err
	}
	existingLayout := func(t *testing.T, dir string) {
		if _, err := Write(ctx, Location{Kind: KindOCI, Path: dir, Tag: "x"}, other, Config{}, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	copyTo := func(ctx context.Context, dst Location) error {
		_, err := Copy(ctx, brokenLoc, dst, Config{Jobs: 1}, CopyOptions{})
		return err
	}
	tests := []struct {
		name    string
		dst     func(root string) Location // root: an empty directory, watched
		setup   func(t *testing.T, dir string)
		write   func(ctx context.Context, dst Location) error
		cancel  bool // cancel at the second layer instead
		wantErr error
	}{
		{name: "copy into a new directory", dst: func(root string) Location {
			return Location{Kind: KindOCI, Path: filepath.Join(root, "new", "layout"), Tag: "s"}
		},
			write: copyTo, wantErr: fs.ErrNotExist},
		{name: "copy into an empty directory", dst: func(root string) Location { return Location{Kind: KindOCI, Path: root, Tag: "s"} },
			write: copyTo, wantErr: fs.ErrNotExist},
		{name: "copy into an existing layout", dst: func(root string) Location { return Location{Kind: KindOCI, Path: root, Tag: "s"} },
			setup: existingLayout, write: copyTo, wantErr: fs.ErrNotExist},
		{name: "cancelled write into an existing layout", dst: func(root string) Location { return Location{Kind: KindOCI, Path: root, Tag: "s"} },
			setup: existingLayout, cancel: true, wantErr: context.Canceled,
			write: func(ctx context.Context, dst Location) error {
				_, err := Write(ctx, dst, src, Config{Jobs: 1}, WriteOptions{})
				return err
			}},
		{name: "save of two images into an existing layout, the second broken", dst: func(root string) Location { return Location{Kind: KindOCI, Path: root} },
			setup: existingLayout, wantErr: fs.ErrNotExist,
			write: func(ctx context.Context, dst Location) error {
				_, err := WriteLayout(ctx, dst.Path, []NamedImage{{Name: "g", Image: good}, {Name: "s", Image: broken}}, Config{Jobs: 1}, WriteOptions{})
				return err
			}},
		{name: "save of two images into a new directory, the second broken", dst: func(root string) Location { return Location{Kind: KindOCI, Path: filepath.Join(root, "l")} },
			wantErr: fs.ErrNotExist,
			write: func(ctx context.Context, dst Location) error {
				_, err := WriteLayout(ctx, dst.Path, []NamedImage{{Name: "g", Image: good}, {Name: "s", Image: broken}}, Config{Jobs: 1}, WriteOptions{})
				return err
			}},
		{name: "copy into a new docker-archive", dst: func(root string) Location {
			return Location{Kind: KindDockerArchive, Path: filepath.Join(root, "a.tar")}
		},
			write: copyTo, wantErr: fs.ErrNotExist},
		{name: "damaged blob into a new docker-archive", dst: func(root string) Location {
			return Location{Kind: KindDockerArchive, Path: filepath.Join(root, "a.tar")}
		},
			write: copyDamaged, wantErr: ErrDigestMismatch},
		{name: "damaged blob into an existing layout", dst: func(root string) Location { return Location{Kind: KindOCI, Path: root, Tag: "s"} },
			setup: existingLayout, write: copyDamaged, wantErr: ErrDigestMismatch},
		{name: "copy over a docker-archive", dst: func(root string) Location {
			return Location{Kind: KindDockerArchive, Path: filepath.Join(root, "a.tar")}
		},
			setup: func(t *testing.T, root string) { writeArchive(t, filepath.Join(root, "a.tar"), other, "x:1") },
			write: copyTo, wantErr: fs.ErrNotExist},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			if tc.setup != nil {
				tc.setup(t, root)
			}
			before := layertest.TreeSums(t, root)
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			dst := tc.dst(root)
			var err error
			if tc.cancel {
				var mu sync.Mutex
				starts := 0
				progress := func(e WriteEvent) {
					mu.Lock()
					defer mu.Unlock()
					if e.Kind == WriteStart {
						if starts++; starts == 2 {
							cancel()
						}
					}
				}
				_, err = Write(ctx, dst, src, Config{Jobs: 1}, WriteOptions{Progress: progress})
			} else {
				err = tc.write(ctx, dst)
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("write: %v, want %v", err, tc.wantErr)
			}
			if after := layertest.TreeSums(t, root); !maps.Equal(after, before) {
				t.Errorf("the destination changed:\nnow %v\nwas %v", after, before)
			}
		})
	}
}

func mustDigest(t *testing.T, l v1.Layer) v1.Hash {
	t.Helper()
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}
