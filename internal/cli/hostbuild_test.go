package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestHostBuildPullAndCopy: image copy takes --host-build as image pull
// does (containerd's host rule chooses the Windows image of an index),
// with the same help text; with --all-platforms it is refused.
func TestHostBuildPullAndCopy(t *testing.T) {
	const (
		ltsc2019 = "sha256:cb027c7caeef2cfe888eb429b658139b6e8ba2626aff6ceef0e5ef2e884707fd"
		ltsc2022 = "sha256:07e39aef97edd99f38a923b495d8d0345a8a211c633aaa2b7a3f5b502c032f71"
	)
	src := "oci:" + testdata + "/image"
	for _, c := range []struct {
		build, want string // want "" = no image fits
	}{
		{"17763", ltsc2019}, {"20348", ltsc2022}, {"26100", ltsc2022}, {"14393", ""},
	} {
		for _, verb := range []string{"pull", "copy"} {
			dir := t.TempDir()
			args := []string{"--store", filepath.Join(dir, "store"), "image", "pull", "-q", "--host-build", c.build, src}
			if verb == "copy" {
				args = []string{"image", "copy", "-q", "--host-build", c.build, src, "oci:" + filepath.Join(dir, "out")}
			}
			out, errOut, code := run(t, nil, args...)
			switch {
			case c.want == "" && (code != 1 || !strings.Contains(errOut, "on host build "+c.build)):
				t.Errorf("%s --host-build %s: %d %q %q, want no matching manifest", verb, c.build, code, out, errOut)
			case c.want != "" && (code != 0 || !strings.Contains(out, c.want)):
				t.Errorf("%s --host-build %s: %d %q %q, want %s", verb, c.build, code, out, errOut, c.want)
			}
		}
	}
	if _, errOut, code := run(t, nil, "image", "copy", "-q", "--all-platforms", "--host-build", "20348", src, "oci:"+t.TempDir()+"/x"); code != 2 || !strings.Contains(errOut, "--host-build") {
		t.Errorf("copy --all-platforms --host-build: %d %q, want a usage error", code, errOut)
	}
	helpLine := func(verb string) string {
		out, _, _ := run(t, nil, "image", verb, "--help")
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "--host-build int") {
				return strings.TrimSpace(l)
			}
		}
		return ""
	}
	if p, c := helpLine("pull"), helpLine("copy"); p == "" || p != c {
		t.Errorf("--host-build help: pull %q, copy %q", p, c)
	}
}
