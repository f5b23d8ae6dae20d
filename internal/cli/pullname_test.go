package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestPullNamesPulledReference: the line 'image pull' and 'image load'
// print is "DIGEST REFERENCE (...)" with the reference that was pulled.
// It printed the first of all the image's references, sorted, so pulling
// or loading an image that already had a tag sorting first (a/b:1 before
// latest) named that tag instead of the one asked for.
func TestPullNamesPulledReference(t *testing.T) {
	const platform = "windows/amd64:10.0.20348"
	archive := filepath.Join(t.TempDir(), "app.tar")
	for _, c := range []struct {
		name string
		src  string
		want string // the reference the output line must name
	}{
		{"layout", "oci:" + testdata + "/image:latest", "latest"},
		{"archive", "docker-archive:" + archive, "index.docker.io/z/y:2"},
		{"archive REF", "docker-archive:" + archive + ":z/y:2", "index.docker.io/z/y:2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			store := filepath.Join(t.TempDir(), "store")
			if _, errOut, code := run(t, nil, "--store", store, "image", "pull", "-q", "--platform", platform, "oci:"+testdata+"/image:latest"); code != 0 {
				t.Fatalf("pull: %d %q", code, errOut)
			}
			if c.src != "oci:"+testdata+"/image:latest" {
				if _, errOut, code := run(t, nil, "--store", store, "image", "save", "-q", "latest", "docker-archive:"+archive+":z/y:2"); code != 0 {
					t.Fatalf("save: %d %q", code, errOut)
				}
			}
			verb := "pull"
			if strings.HasPrefix(c.src, "docker-archive:") {
				verb = "load"
				if _, errOut, code := run(t, nil, "--store", store, "image", "load", "-q", c.src); code != 0 {
					t.Fatalf("first load: %d %q", code, errOut)
				}
			}
			// Another reference to the same image, sorting before the pulled one.
			name := strings.TrimPrefix(c.want, "index.docker.io/")
			if _, errOut, code := run(t, nil, "--store", store, "image", "tag", name, "a/b:1"); code != 0 {
				t.Fatalf("tag: %d %q", code, errOut)
			}
			out, errOut, code := run(t, nil, "--store", store, "image", verb, "--platform", platform, c.src)
			if code != 0 || !strings.Contains(out, " "+c.want+" (") || strings.Contains(out, "a/b:1") {
				t.Errorf("%s %s again: %d, stdout %q (want it to name %s), stderr %q", verb, c.src, code, out, c.want, errOut)
			}
		})
	}
}
