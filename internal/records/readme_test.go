package records

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmePaths: every path testdata/README.md names exists: files of
// testdata itself, and the shared spec and tools, which sit next to the
// repository (before, it named ../spec/ and ../tools/dumpdiff, which exist
// nowhere).
func TestReadmePaths(t *testing.T) {
	text := string(read(t, "README.md"))
	// The main repository's root: the worktree's own root for files in
	// the repository, the main checkout's for its siblings.
	out, err := exec.Command("git", "rev-parse", "--path-format=absolute", "--git-common-dir").Output()
	if err != nil {
		t.Skipf("not in a git checkout (%v): cannot locate the repository's siblings", err)
	}
	mainRoot := filepath.Dir(strings.TrimSpace(string(out)))
	// The shared folder is the workplace's, next to the checkout; a clone
	// elsewhere (CI) does not have it, and then only the names are checked.
	_, serr := os.Stat(filepath.Join(mainRoot, "..", "shared"))
	n := 0
	for _, m := range regexp.MustCompile("`(\\.\\./[^`\\s]+)`").FindAllStringSubmatch(text, -1) {
		p := m[1]
		n++
		if !strings.HasPrefix(p, "../shared/") {
			t.Errorf("README names %s, which is not under ../shared/", p)
		}
		if serr != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(mainRoot, p)); err != nil {
			t.Errorf("README names %s, which is not there from the repository root: %v", p, err)
		}
	}
	if n == 0 {
		t.Fatal("README names no paths outside testdata")
	}
	for _, m := range regexp.MustCompile("`([\\w.-]+\\.(?:tar|jsonl))`").FindAllStringSubmatch(text, -1) {
		if _, err := os.Stat(filepath.Join(testdata, m[1])); err != nil {
			t.Errorf("README names %s, which is not in testdata: %v", m[1], err)
		}
	}
}
