package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runOut runs the command line with standard output going to out.
func runOut(t *testing.T, out *os.File, args ...string) (string, int) {
	t.Helper()
	var errb bytes.Buffer
	code := Main(context.Background(), args, bytes.NewReader(nil), out, &errb)
	return errb.String(), code
}

// damage changes one byte of base's Files/hello.txt (same size: only the
// CRC sees it).
func damage(t *testing.T, store string) {
	t.Helper()
	p := filepath.Join(store, "base", "Files", "hello.txt")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x20
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// leftovers lists the names in dir other than keep.
func leftovers(t *testing.T, dir string, keep ...string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		if !strings.Contains(strings.Join(keep, "\x00")+"\x00", de.Name()+"\x00") {
			out = append(out, de.Name())
		}
	}
	return out
}

// TestExportOutputs: export to /dev/null works (it is no terminal); -o
// writes the file through a temporary name (a damaged layer or a missing
// one leaves an existing file as it was, or none, and no temporary file);
// standard output redirected to a file is cut back to its length before
// the export when a payload is damaged (">" and ">>"), exit 1.
func TestExportOutputs(t *testing.T) {
	store := importSample(t)
	in := readFile(t, "sample.rebuilt.tar")
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if errOut, code := runOut(t, null, "--store", store, "export", "base"); code != 0 {
		t.Fatalf("export > /dev/null: %d %s", code, errOut)
	}
	// -o /dev/null writes into the device; it is not replaced by a file.
	if _, errOut, code := run(t, nil, "--store", store, "export", "-o", os.DevNull, "base"); code != 0 {
		t.Fatalf("export -o /dev/null: %d %s", code, errOut)
	}
	if fi, err := os.Stat(os.DevNull); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("/dev/null after export -o /dev/null: %v %v", fi.Mode(), err)
	}
	if l, _ := filepath.Glob(filepath.Join(filepath.Dir(os.DevNull), ".null.*")); len(l) != 0 {
		t.Errorf("export -o /dev/null left %v", l)
	}
	dir := t.TempDir()
	target := filepath.Join(dir, "out.tar")
	if _, errOut, code := run(t, nil, "--store", store, "export", "-o", target, "base"); code != 0 {
		t.Fatalf("export -o: %d %s", code, errOut)
	}
	if b, _ := os.ReadFile(target); !bytes.Equal(b, in) {
		t.Fatal("export -o: not the imported bytes")
	}
	if _, _, code := run(t, nil, "--store", store, "export", "-o", filepath.Join(dir, "none.tar"), "missing"); code != 1 {
		t.Errorf("export -o of a missing layer: exit %d", code)
	}
	if l := leftovers(t, dir, "out.tar"); len(l) != 0 {
		t.Errorf("export -o of a missing layer left %v", l)
	}

	damage(t, store)
	if _, errOut, code := run(t, nil, "--store", store, "export", "-o", target, "base"); code != 1 || !strings.Contains(errOut, `"Files/hello.txt"`) {
		t.Errorf("export -o of a damaged layer: %d %q", code, errOut)
	}
	if b, _ := os.ReadFile(target); !bytes.Equal(b, in) {
		t.Error("export -o of a damaged layer changed the existing file")
	}
	if _, _, code := run(t, nil, "--store", store, "export", "-o", filepath.Join(dir, "new.tar"), "base"); code != 1 {
		t.Errorf("export -o new.tar of a damaged layer: exit %d", code)
	}
	if l := leftovers(t, dir, "out.tar"); len(l) != 0 {
		t.Errorf("export -o of a damaged layer left %v", l)
	}

	for _, tc := range []struct {
		name  string
		flags int
	}{{">", os.O_TRUNC}, {">>", os.O_APPEND}} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "redirect")
			if err := os.WriteFile(p, []byte("before\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|tc.flags, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			errOut, code := runOut(t, f, "--store", store, "export", "base")
			want := "before\n"
			if tc.flags == os.O_TRUNC {
				want = ""
			}
			b, _ := os.ReadFile(p)
			if code != 1 || string(b) != want || !strings.Contains(errOut, "cut back") {
				t.Errorf("exit %d, file %q (want %q), stderr %q", code, b, want, errOut)
			}
		})
	}
}
