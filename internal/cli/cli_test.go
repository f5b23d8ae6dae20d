package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

const testdata = "../../testdata"

// run runs the command line and returns stdout, stderr and the exit status.
func run(t *testing.T, stdin []byte, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, bytes.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestStoreVerbs runs import, ls, inspect, export, rm and cleanup against
// one store, as a user would.
func TestStoreVerbs(t *testing.T) {
	store := t.TempDir()
	in := readFile(t, "sample.rebuilt.tar")
	out, errOut, code := run(t, in, "--store", store, "import", "base")
	if code != 0 || strings.TrimSpace(out) != "99" {
		t.Fatalf("import: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	if !strings.Contains(errOut, "sha256:") {
		t.Errorf("import did not report the DiffID: %q", errOut)
	}
	if _, errOut, code := run(t, in, "--store", store, "import", "--parent", "base", "child"); code != 0 {
		t.Fatalf("import child: %d %s", code, errOut)
	}
	if _, errOut, code := run(t, in, "--store", store, "import", "--parent", "nope", "x"); code != 1 || !strings.Contains(errOut, "nope") {
		t.Fatalf("import with a missing parent: code %d, %q", code, errOut)
	}
	out, _, code = run(t, nil, "--store", store, "ls")
	if code != 0 || !strings.Contains(out, "base") || !strings.Contains(out, "child") || !strings.Contains(out, "sha256:ebd49c9a7a3f") {
		t.Fatalf("ls: %d\n%s", code, out)
	}
	out, _, code = run(t, nil, "--store", store, "ls", "--json")
	var infos []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &infos) != nil || len(infos) != 2 {
		t.Fatalf("ls --json: %d %q", code, out)
	}
	out, _, code = run(t, nil, "--store", store, "inspect", "base", `C:\hello.txt`)
	for _, want := range []string{"ARCHIVE", "O:BUG:BU", ":Zone.Identifier:$DATA (26 bytes)", "$KERNEL.PURGE.ESBCACHE"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("inspect hello.txt: missing %q in\n%s", want, out)
		}
	}
	out, _, _ = run(t, nil, "--store", store, "inspect", "base", "junction")
	if !strings.Contains(out, `junction -> C:\ProgramData`) {
		t.Errorf("inspect junction:\n%s", out)
	}
	out, _, _ = run(t, nil, "--store", store, "inspect", "base")
	if !strings.Contains(out, "1 tombstone") || !strings.Contains(out, "1 hardlink") {
		t.Errorf("inspect layer:\n%s", out)
	}
	if _, errOut, code := run(t, nil, "--store", store, "inspect", "base", "Files/nothing"); code != 1 || !strings.Contains(errOut, "Files/nothing") {
		t.Errorf("inspect of a missing path: %d %q", code, errOut)
	}
	out, _, code = run(t, nil, "--store", store, "export", "child")
	if code != 0 || sha256.Sum256([]byte(out)) != sha256.Sum256(in) {
		t.Fatalf("export: code %d, %d bytes, not the imported bytes", code, len(out))
	}
	if _, _, code := run(t, nil, "--store", store, "rm", "child", "base", "never-was"); code != 0 {
		t.Fatalf("rm: %d", code)
	}
	out, _, _ = run(t, nil, "--store", store, "ls")
	if strings.Contains(out, "base") {
		t.Fatalf("ls after rm:\n%s", out)
	}
	if _, _, code := run(t, nil, "--store", store, "cleanup"); code != 0 {
		t.Fatal("cleanup failed")
	}
}

// TestExitCodes: usage errors exit 2, failures 1, and errors name what failed.
func TestExitCodes(t *testing.T) {
	store := t.TempDir()
	cases := []struct {
		args     []string
		stdin    []byte
		code     int
		contains string
	}{
		{[]string{"--store", store, "import"}, nil, 2, "import takes ID, got 0 arguments (missing ID); usage: winlayer import [--parent ID]... ID < layer.tar"},
		{[]string{"--store", store, "--bogus"}, nil, 2, "unknown flag"},
		{[]string{"--store", store, "import", "../evil"}, nil, 1, "invalid layer id"},
		{[]string{"--store", store, "export", "missing"}, nil, 1, "does not exist"},
		{[]string{"--store", store, "import", "bad"}, readFile(t, "errors/bad-fileattr.tar"), 1, `"Files/f.txt"`},
		{[]string{"--store", store, "import", "trunc"}, readFile(t, "sample.tar")[:4096], 1, "import trunc"},
		{[]string{"records", "dump"}, readFile(t, "errors/bad-fileattr.tar"), 1, `"Files/f.txt"`},
		{[]string{"records", "build"}, readFile(t, "errors/size-mismatch.jsonl"), 1, "mismatch between file size 5 and header size 3"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, errOut, code := run(t, tc.stdin, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.contains) {
				t.Fatalf("code %d, stderr %q; want %d and %q", code, errOut, tc.code, tc.contains)
			}
		})
	}
}

// TestRecordsRoundTrip: dump then build through the command line gives the
// exporter-made tar back byte for byte.
func TestRecordsRoundTrip(t *testing.T) {
	in := readFile(t, "sample.rebuilt.tar")
	recs, errOut, code := run(t, in, "records", "dump", "--hex")
	if code != 0 {
		t.Fatalf("dump: %d %s", code, errOut)
	}
	if !strings.Contains(recs, `"stream_hex"`) {
		t.Error("--hex did not add stream_hex")
	}
	out, errOut, code := run(t, []byte(recs), "records", "build")
	if code != 0 || out != string(in) {
		t.Fatalf("build: code %d, %d bytes, stderr %q", code, len(out), errOut)
	}
}

// TestVerify: the README's main command succeeds on the bundled samples.
func TestVerify(t *testing.T) {
	out, errOut, code := run(t, nil, "verify", filepath.Join(testdata, "sample.tar"), filepath.Join(testdata, "sample.rebuilt.tar"))
	if code != 0 || strings.Count(out, "match") != 2 || !strings.Contains(out, "all 2 layers round-trip") {
		t.Fatalf("verify: %d\n%s\n%s", code, out, errOut)
	}
}

// TestHelpTeaches: every command, the verbs under image and records and
// those two groups included, has a description and an example, as the
// README promises ("Every command has --help with examples"); cleanup and
// records had none.
func TestHelpTeaches(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, c := range c.Commands() {
			if c.Name() == "help" || c.Name() == "completion" {
				continue
			}
			if c.Short == "" || c.Long == "" {
				t.Errorf("%s: missing Short or Long help", c.CommandPath())
			}
			if c.Example == "" {
				t.Errorf("%s: no example", c.CommandPath())
			}
			walk(c)
		}
	}
	walk(newRootCmd(&options{}))
}
