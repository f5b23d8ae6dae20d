package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/winlayer/winlayer/layer"
)

// chainCLIStore imports base, mid (--parent base) and top (--parent mid)
// through the command line.
func chainCLIStore(t *testing.T) string {
	t.Helper()
	store := t.TempDir()
	in := readFile(t, "sample.rebuilt.tar")
	for _, args := range [][]string{{"import", "base"}, {"import", "--parent", "base", "mid"}, {"import", "--parent", "mid", "top"}} {
		if _, errOut, code := run(t, in, append([]string{"--store", store}, args...)...); code != 0 {
			t.Fatalf("%v: %d %s", args, code, errOut)
		}
	}
	return store
}

// TestImportParentChain: one --parent stores the parent's whole chain;
// several must be that chain, else the expected chain is shown; a repeated
// parent is refused.
func TestImportParentChain(t *testing.T) {
	store := chainCLIStore(t)
	chain, err := layer.ReadChain(filepath.Join(store, "top"))
	if want := []string{filepath.Join(store, "mid"), filepath.Join(store, "base")}; err != nil || strings.Join(chain, ",") != strings.Join(want, ",") {
		t.Fatalf("import --parent mid top stored %v (%v), want %v", chain, err, want)
	}
	in := readFile(t, "sample.rebuilt.tar")
	for _, tc := range []struct {
		parents []string
		code    int
		stderr  []string
	}{
		{[]string{"top", "mid", "base"}, 0, nil},
		{[]string{"mid", "top"}, 1, []string{"want [mid base]", "whole chain nearest first"}},
		{[]string{"base", "mid"}, 1, []string{"want [base]"}},
		{[]string{"top", "mid"}, 1, []string{"want [top mid base]"}},
		{[]string{"base", "base"}, 1, []string{"base named twice"}},
		{[]string{"nope"}, 1, []string{"parent nope does not exist"}},
	} {
		t.Run(strings.Join(tc.parents, ","), func(t *testing.T) {
			args := []string{"--store", store, "import"}
			for _, p := range tc.parents {
				args = append(args, "--parent", p)
			}
			_, errOut, code := run(t, in, append(args, "new")...)
			if code != tc.code {
				t.Fatalf("code %d, want %d: %s", code, tc.code, errOut)
			}
			for _, want := range tc.stderr {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr %q does not say %q", errOut, want)
				}
			}
			if code == 0 {
				run(t, nil, "--store", store, "rm", "new")
			}
		})
	}
}

// TestRmNeededLayer: rm of a layer others need is refused naming them and
// --force; rm of the whole family in any order works; rm --force removes
// and names what it broke, and ls marks the missing parent.
func TestRmNeededLayer(t *testing.T) {
	store := chainCLIStore(t)
	out, errOut, code := run(t, nil, "--store", store, "rm", "base")
	if code != 1 || out != "" || !strings.Contains(errOut, "needed by mid, top") || !strings.Contains(errOut, "--force") {
		t.Fatalf("rm base: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	out, errOut, code = run(t, nil, "--store", store, "rm", "--force", "base")
	if code != 0 || out != "base\n" || !strings.Contains(errOut, "mid, top now missing parent base") {
		t.Fatalf("rm --force base: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	out, _, code = run(t, nil, "--store", store, "ls")
	if code != 0 || !strings.Contains(out, "mid,base (missing)") || strings.Count(out, "(missing)") != 2 {
		t.Fatalf("ls after rm --force:\n%s", out)
	}
	out, _, code = run(t, nil, "--store", store, "ls", "--json")
	var infos []struct {
		ID             string   `json:"id"`
		Parents        []string `json:"parents"`
		ParentDirs     []string `json:"parent_dirs"`
		MissingParents []string `json:"missing_parents"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &infos) != nil || len(infos) != 2 {
		t.Fatalf("ls --json: %d\n%s", code, out)
	}
	top := infos[1]
	if top.ID != "top" || strings.Join(top.Parents, ",") != "mid,base" ||
		strings.Join(top.ParentDirs, ",") != filepath.Join(store, "mid")+","+filepath.Join(store, "base") ||
		strings.Join(top.MissingParents, ",") != "base" {
		t.Errorf("ls --json top: %+v", top)
	}
	// Given together, the layers go children first, whatever the order.
	out, errOut, code = run(t, nil, "--store", store, "rm", "mid", "top")
	if code != 0 || out != "top\nmid\n" {
		t.Fatalf("rm mid top: code %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestLsJSONParents: parents are ids, with the stored directories beside
// them, and empty lists (not null) for a base layer.
func TestLsJSONParents(t *testing.T) {
	store := chainCLIStore(t)
	out, _, code := run(t, nil, "--store", store, "ls", "--json")
	var infos []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &infos) != nil || len(infos) != 3 {
		t.Fatalf("ls --json: %d\n%s", code, out)
	}
	for _, in := range infos {
		for _, key := range []string{"parents", "parent_dirs", "missing_parents"} {
			if _, ok := in[key].([]any); !ok {
				t.Errorf("layer %v: %s is %#v, want a list", in["id"], key, in[key])
			}
		}
	}
	if got := infos[2]["parents"]; infos[2]["id"] != "top" || len(got.([]any)) != 2 || got.([]any)[0] != "mid" || got.([]any)[1] != "base" {
		t.Errorf("top's parents %v, want [mid base]", got)
	}
	if len(infos[0]["missing_parents"].([]any)) != 0 {
		t.Errorf("base: missing parents %v", infos[0]["missing_parents"])
	}
}
