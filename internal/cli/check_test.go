package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// importSample makes a store with layers base and child (on base), both
// the sample layer.
func importSample(t *testing.T) string {
	t.Helper()
	store := t.TempDir()
	in := readFile(t, "sample.rebuilt.tar")
	for _, args := range [][]string{{"import", "base"}, {"import", "--parent", "base", "child"}} {
		if _, errOut, code := run(t, in, append([]string{"--store", store}, args...)...); code != 0 {
			t.Fatalf("%v: %d %s", args, code, errOut)
		}
	}
	return store
}

// TestCheckCommand: check of a good store prints a table of ok layers and
// exits 0; damaged layers make it exit 1 naming each bad layer and entry,
// in the table and in --json; --fast still finds a changed file.
func TestCheckCommand(t *testing.T) {
	store := importSample(t)
	out, errOut, code := run(t, nil, "--store", store, "check")
	if code != 0 || !strings.HasPrefix(out, "LAYER") || strings.Count(out, " ok ") != 2 || errOut != "" {
		t.Fatalf("check of a good store: %d\n%s%s", code, out, errOut)
	}
	// Damage: bytes appended to a file of base, sd.json of child deleted.
	f, err := os.OpenFile(filepath.Join(store, "base", "Files", "plain-ustar.txt"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("junk")
	f.Close()
	if err := os.Remove(filepath.Join(store, "child", ".winlayer", "sd.json")); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = run(t, nil, "--store", store, "check")
	t.Logf("%s%s", out, errOut)
	for _, want := range []string{"base   bad", "Files/plain-ustar.txt: 16 bytes on disk, longer than the recorded 12", "child  bad", ".winlayer/sd.json: missing"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q", want)
		}
	}
	if code != 1 || !strings.Contains(errOut, "2 of 2 layers bad: base (Files/plain-ustar.txt); child (.winlayer/sd.json)") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	out, _, code = run(t, nil, "--store", store, "check", "--json", "--fast", "base")
	var reports []struct {
		ID       string `json:"id"`
		Status   string `json:"status"`
		Problems []struct {
			Entry   string `json:"entry"`
			Problem string `json:"problem"`
		} `json:"problems"`
		Skipped []string `json:"skipped"`
	}
	if err := json.Unmarshal([]byte(out), &reports); err != nil || code != 1 {
		t.Fatalf("check --json: %d %v\n%s", code, err, out)
	}
	if len(reports) != 1 || reports[0].ID != "base" || reports[0].Status != "bad" || len(reports[0].Problems) != 1 ||
		reports[0].Problems[0].Entry != "Files/plain-ustar.txt" {
		t.Errorf("check --json base: %+v", reports)
	}
	if _, errOut, code := run(t, nil, "--store", store, "check", "nope"); code != 1 || !strings.Contains(errOut, "check nope: layer does not exist") {
		t.Errorf("check of a missing layer: %d %q", code, errOut)
	}
	if _, errOut, code := run(t, nil, "--store", filepath.Join(store, "typo"), "check"); code != 1 || !strings.Contains(errOut, filepath.Join(store, "typo")) {
		t.Errorf("check of a missing store: %d %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(store, "typo")); err == nil {
		t.Error("check created the missing store")
	}
}

// TestImportParentSymlink: a parent whose layer directory was replaced by
// a symlink is named as such (not "does not exist"), and nothing is
// imported.
func TestImportParentSymlink(t *testing.T) {
	store := importSample(t)
	if err := os.Rename(filepath.Join(store, "base"), filepath.Join(t.TempDir(), "real")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(t.TempDir(), filepath.Join(store, "base")); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := run(t, readFile(t, "sample.rebuilt.tar"), "--store", store, "import", "--parent", "base", "x")
	if code != 1 || !strings.Contains(errOut, "parent base: "+filepath.Join(store, "base")+" is a symlink") {
		t.Errorf("import on a symlinked parent: %d %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(store, "x")); err == nil {
		t.Error("imported anyway")
	}
}
