package cli

import (
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/winlayer/winlayer/layer/layertest"
)

// The 2022 sample image's own layer blob (its base; the upper is shared
// with the 2019 image).
const sample2022Base = "0f8e8d3abc91e957165eff82f305cf5812d2a3a6109a06ccabf8d86a41aa1772"

// copyTree copies the regular files and directories of src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestImageWriteFailureLeavesDestination: 'image copy' from a layout that
// lacks the 2022 image's base blob (the 2019 image is written first), and
// 'image save' of a store whose kept blob of that layer is damaged, fail
// with exit 1 and leave the destination as they found it: no directory
// they created, an existing layout byte for byte (index.json and blobs,
// the one it shares with the failed images included), an existing
// docker-archive untouched.
func TestImageWriteFailureLeavesDestination(t *testing.T) {
	broken := filepath.Join(t.TempDir(), "src")
	copyTree(t, testdata+"/image", broken)
	if err := os.Remove(filepath.Join(broken, "blobs", "sha256", sample2022Base)); err != nil {
		t.Fatal(err)
	}
	store := t.TempDir()
	loadSampleBoth(t, store)
	damaged := filepath.Join(store, ".blobs", "sha256", sample2022Base)
	fi, err := os.Stat(damaged)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(damaged, make([]byte, fi.Size()), 0o644); err != nil {
		t.Fatal(err)
	}
	// An existing layout holding the 2019 image, and an existing archive.
	existing := func(t *testing.T, root string) {
		if _, errOut, code := run(t, nil, "image", "copy", "-q", "--platform", "windows/amd64:10.0.17763", "oci:"+testdata+"/image:latest", "oci:"+root+"/layout:old"); code != 0 {
			t.Fatalf("copy: %d %s", code, errOut)
		}
		if _, errOut, code := run(t, nil, "image", "copy", "-q", "--platform", "windows/amd64:10.0.17763", "oci:"+testdata+"/image:latest", "docker-archive:"+root+"/a.tar:old:1"); code != 0 {
			t.Fatalf("copy: %d %s", code, errOut)
		}
	}
	tests := []struct {
		name    string
		setup   func(t *testing.T, root string)
		args    func(root string) []string
		wantErr string
	}{
		{"copy into a new directory", nil, func(root string) []string {
			return []string{"image", "copy", "-q", "--all-platforms", "oci:" + broken + ":latest", "oci:" + root + "/new/layout"}
		}, sample2022Base},
		{"copy into an existing layout", existing, func(root string) []string {
			return []string{"image", "copy", "-q", "--all-platforms", "oci:" + broken + ":latest", "oci:" + root + "/layout:all"}
		}, sample2022Base},
		{"save into a new directory", nil, func(root string) []string {
			return []string{"--store", store, "image", "save", "-q", sample2019, sample2022, "oci:" + root + "/new"}
		}, "digest mismatch"},
		{"save into an existing layout", existing, func(root string) []string {
			return []string{"--store", store, "image", "save", "-q", sample2019, sample2022, "oci:" + root + "/layout"}
		}, "digest mismatch"},
		{"save over a docker-archive", existing, func(root string) []string {
			return []string{"--store", store, "image", "save", "-q", sample2019, sample2022, "docker-archive:" + root + "/a.tar"}
		}, "digest mismatch"},
		{"save into a new docker-archive", nil, func(root string) []string {
			return []string{"--store", store, "image", "save", "-q", sample2019, sample2022, "docker-archive:" + root + "/a.tar"}
		}, "digest mismatch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			if tc.setup != nil {
				tc.setup(t, root)
			}
			before := layertest.TreeSums(t, root)
			out, errOut, code := run(t, nil, tc.args(root)...)
			if code != 1 || !strings.Contains(errOut, tc.wantErr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 naming %q", code, out, errOut, tc.wantErr)
			}
			if after := layertest.TreeSums(t, root); !maps.Equal(after, before) {
				t.Errorf("the destination changed:\nnow %v\nwas %v", after, before)
			}
		})
	}
}
