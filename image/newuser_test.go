package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/winlayer/winlayer/internal/registrytest"
	"github.com/winlayer/winlayer/layer"
)

// TestOpenSwappedKinds: the slips a user makes with file sources, each
// named with the form that works: oci: of a file (a docker-archive), a
// docker-archive: of a directory (an OCI layout), of a Windows layer tar,
// of an OCI layout packed in a tar. They said "stat …/index.json: not a
// directory", "read …: is a directory", "file manifest.json not found in
// tar".
func TestOpenSwappedKinds(t *testing.T) {
	dir := t.TempDir()
	img := testOCIImage(t, "10.0.20348.1", testLayerTars(34, 1), false)
	lay := filepath.Join(dir, "lay")
	writeLayout(t, lay, img, "v1")
	arch := filepath.Join(dir, "app.tar")
	writeArchive(t, arch, img, "example.com/app:1")
	layerTar := filepath.Join(dir, "layer.tar")
	if err := os.WriteFile(layerTar, testLayerTars(35, 1)[0], 0o644); err != nil {
		t.Fatal(err)
	}
	ociTar := filepath.Join(dir, "oci.tar")
	tarDir(t, lay, ociTar)
	// docker save | gzip: said only "archive/tar: invalid tar header".
	archGz := filepath.Join(dir, "app.tar.gz")
	if err := os.WriteFile(archGz, gzipFile(t, arch), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		src  string
		is   error
		want string
	}{
		{"oci:" + arch, ErrNotLayout, arch + " is a file, not a directory (a docker-save archive is docker-archive:" + arch + ")"},
		{"docker-archive:" + lay, ErrBadLocation, lay + " is a directory, not a docker-save archive (it holds an OCI image layout: oci:" + lay + ")"},
		{"docker-archive:" + dir, ErrBadLocation, dir + " is a directory, not a docker-save archive"},
		{"docker-archive:" + layerTar, nil, "(it is a Windows layer tar: 'winlayer import ID < FILE' imports it)"},
		{"docker-archive:" + ociTar, nil, "(the tar holds an OCI image layout: unpack it and give oci:DIR)"},
		{"docker-archive:" + archGz, nil, "(the file is gzip-compressed, as 'docker save | gzip' writes it; a docker-archive is the plain tar: gunzip it first)"},
	} {
		loc, err := ParseLocation(c.src)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Open(context.Background(), loc, Config{})
		if err == nil || (c.is != nil && !errors.Is(err, c.is)) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.src, err)
		}
	}
}

// tarDir writes the regular files of dir into the tar file out.
func tarDir(t *testing.T, dir, out string) {
	t.Helper()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if err := tw.WriteHeader(&tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = tw.Write(b)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestWriteLayoutOntoFile: oci:FILE as a destination (a docker-archive
// meant) said "open FILE: not a directory"; it names the form that works
// and leaves the file alone.
func TestWriteLayoutOntoFile(t *testing.T) {
	img := testOCIImage(t, "10.0.20348.1", testLayerTars(36, 1), false)
	file := filepath.Join(t.TempDir(), "app.tar")
	if err := os.WriteFile(file, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Write(context.Background(), Location{Kind: KindOCI, Path: file}, img, Config{}, WriteOptions{})
	if !errors.Is(err, ErrNotLayout) || !strings.Contains(err.Error(), file+" is a file; an OCI layout is a directory (a docker-save archive is docker-archive:"+file+")") {
		t.Errorf("write oci:FILE: %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep" {
		t.Errorf("the file now holds %q", b)
	}
}

// TestPullConcurrentCounts: two pulls that both download every layer (the
// registry holds each blob until both asked for it) each report every
// layer as fetched: the one whose import lost the race to commit said
// "done" for it and then counted it "already present".
func TestPullConcurrentCounts(t *testing.T) {
	img := testImage(t, "windows", "amd64", "10.0.20348.1", testLayerTars(37, 2), false)
	ds, _ := layerDigests(t, img)
	var mu sync.Mutex
	asked := map[string]int{}
	both := map[string]chan struct{}{}
	for _, d := range ds {
		both[d.String()] = make(chan struct{})
	}
	reg := registrytest.InProcess(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			d := path.Base(r.URL.Path)
			if ch, ok := both[d]; ok && r.Method == http.MethodGet {
				mu.Lock()
				asked[d]++
				if asked[d] == 2 {
					close(ch)
				}
				mu.Unlock()
				select {
				case <-ch:
				case <-time.After(5 * time.Second):
				}
			}
			next.ServeHTTP(w, r)
		})
	})
	ref := pushTest(t, reg.Host, "counts/app:1", img)
	home := t.TempDir()
	var wg sync.WaitGroup
	res := make([]*PullResult, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ls, err := layer.Open(home)
			if err != nil {
				errs[i] = err
				return
			}
			loc, _ := ParseLocation(ref.String())
			rs, err := OpenStore(ls).Pull(context.Background(), loc, Config{}, PullOptions{})
			if err == nil {
				res[i] = rs[0]
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil {
			t.Fatalf("pull %d: %v", i, errs[i])
		}
		if res[i].Fetched != 2 || res[i].Skipped != 0 {
			t.Errorf("pull %d: fetched %d, skipped %d; both downloaded both layers", i, res[i].Fetched, res[i].Skipped)
		}
	}
}

// gzipFile is the gzip of file p's bytes.
func gzipFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
