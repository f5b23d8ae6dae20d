package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestCopyArchiveReportsEachImage: 'image copy --all-platforms' of a
// multi-image docker-archive into another printed "copied to FILE:
// DIGEST" with the first image's digest alone, as if the archive held one
// image; it reports as 'image save' does for such an archive: a summary
// line over each image's digest and name, and with --json an array of one
// object per image.
func TestCopyArchiveReportsEachImage(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	for _, c := range []struct{ platform, tag string }{
		{"windows/amd64:10.0.17763", "a/one:1"},
		{"windows/amd64:10.0.20348", "a/two:1"},
	} {
		out, errOut, code := run(t, nil, "--store", store, "image", "pull", "-q", "--platform", c.platform, "oci:"+testdata+"/image")
		if code != 0 {
			t.Fatalf("pull %s: %d %q", c.platform, code, errOut)
		}
		if _, errOut, code := run(t, nil, "--store", store, "image", "tag", strings.TrimSpace(out), c.tag); code != 0 {
			t.Fatalf("tag: %d %q", code, errOut)
		}
	}
	all := filepath.Join(dir, "all.tar")
	if _, errOut, code := run(t, nil, "--store", store, "image", "save", "-q", "a/one:1", "a/two:1", "docker-archive:"+all); code != 0 {
		t.Fatalf("save: %d %q", code, errOut)
	}
	for _, c := range []struct {
		name string
		json bool
	}{{"text", false}, {"json", true}} {
		t.Run(c.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "copy.tar")
			args := []string{"image", "copy", "-q", "--all-platforms", "docker-archive:" + all, "docker-archive:" + dst}
			if c.json {
				args = append(args, "--json")
			}
			out, errOut, code := run(t, nil, args...)
			if code != 0 {
				t.Fatalf("copy: %d %q", code, errOut)
			}
			if c.json {
				var res []struct{ Destination, Digest string }
				if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != 2 {
					t.Fatalf("copy --json: want an array of 2 objects, got %q (%v)", out, err)
				}
				return
			}
			if !strings.HasPrefix(out, "copied 2 images to docker-archive:"+dst+" (layers: ") {
				t.Errorf("copy: stdout %q, want the summary line of 2 images", out)
			}
			// One line per image, naming it.
			for _, tag := range []string{"a/one:1", "a/two:1"} {
				if !strings.Contains(out, " "+tag+"\n") && !strings.Contains(out, " index.docker.io/"+tag+"\n") && !strings.Contains(out, " docker.io/"+tag+"\n") {
					t.Errorf("copy: stdout %q lacks a line for %s", out, tag)
				}
			}
		})
	}
}
