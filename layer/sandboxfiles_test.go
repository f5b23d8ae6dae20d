package layer

import (
	"os"
	"path/filepath"
	"testing"
)

// TestSandboxFilesFollowsOnlyItsLink: only the driver's own Files link
// onto a real .winlayer/sandbox/Files directory is followed.
func TestSandboxFilesFollowsOnlyItsLink(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(t *testing.T, dir, outside string)
		follow bool
	}{
		{"sandbox link", func(t *testing.T, dir, _ string) {
			mkdir(t, filepath.Join(dir, ".winlayer/sandbox/Files"))
			symlink(t, SandboxFilesLink, filepath.Join(dir, "Files"))
		}, true},
		{"other target", func(t *testing.T, dir, outside string) {
			symlink(t, outside, filepath.Join(dir, "Files"))
		}, false},
		{"sandbox dir is a symlink", func(t *testing.T, dir, outside string) {
			mkdir(t, filepath.Join(outside, "Files"))
			mkdir(t, filepath.Join(dir, ".winlayer"))
			symlink(t, outside, filepath.Join(dir, ".winlayer/sandbox"))
			symlink(t, SandboxFilesLink, filepath.Join(dir, "Files"))
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, outside := t.TempDir(), t.TempDir()
			tt.setup(t, dir, outside)
			got := sandboxFiles(dir)
			want := filepath.Join(dir, "Files")
			if tt.follow {
				want = filepath.Join(dir, ".winlayer/sandbox/Files")
			}
			if got != want {
				t.Errorf("sandboxFiles = %s, want %s", got, want)
			}
		})
	}
}

func mkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, p string) {
	t.Helper()
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}
