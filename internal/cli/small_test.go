package cli

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/winlayer/winlayer/backupstream"
	"github.com/winlayer/winlayer/layer"
)

// TestInputSize: the size is known for a regular file (what is left of
// it after its offset), not for a pipe or another reader.
func TestInputSize(t *testing.T) {
	name := filepath.Join(t.TempDir(), "in.tar")
	if err := os.WriteFile(name, make([]byte, 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := inputSize(f); got != 1000 {
		t.Errorf("regular file: %d, want 1000", got)
	}
	if _, err := f.Read(make([]byte, 300)); err != nil {
		t.Fatal(err)
	}
	if got := inputSize(f); got != 700 {
		t.Errorf("regular file after reading 300 bytes: %d, want 700", got)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	if got := inputSize(pr); got != -1 {
		t.Errorf("pipe: %d, want -1", got)
	}
	if got := inputSize(bytes.NewReader(nil)); got != -1 {
		t.Errorf("bytes.Reader: %d, want -1", got)
	}
}

// TestProgressLine: total and percentage when the size is known, else
// bytes read; the rate either way.
func TestProgressLine(t *testing.T) {
	cases := []struct {
		n, total int64
		want     string
	}{
		{25 << 20, 100 << 20, "import base: 26.21MB of 104.9MB (25%), 13.11MB/s"},
		{0, 0, "import base: 0B of 0B (100%), 0B/s"},
		{25 << 20, -1, "import base: 26.21MB read, 13.11MB/s"},
	}
	for _, tc := range cases {
		if got := progressLine("import base", tc.n, tc.total, 2*time.Second); got != tc.want {
			t.Errorf("progressLine(%d, %d) = %q, want %q", tc.n, tc.total, got, tc.want)
		}
	}
}

// TestRunProgress: the progress loop draws the percentage of a known total
// and clears its line when stopped.
func TestRunProgress(t *testing.T) {
	defer func(d time.Duration) { progressInterval = d }(progressInterval)
	progressInterval = time.Millisecond
	var buf bytes.Buffer
	c := &countReader{r: bytes.NewReader(nil)}
	c.n.Store(50)
	stop := runProgress(&buf, c, 200, "import x")
	time.Sleep(20 * time.Millisecond)
	stop()
	out := buf.String()
	if !strings.Contains(out, "import x: 50B of 200B (25%)") || !strings.HasSuffix(out, "\r\033[K") {
		t.Errorf("progress output %q", out)
	}
}

// TestImportJSON: --json prints one object with the id, size, DiffID, tar
// size and parents as ids, and nothing on standard error.
func TestImportJSON(t *testing.T) {
	store := t.TempDir()
	file := filepath.Join(testdata, "sample.rebuilt.tar")
	for _, tc := range []struct {
		args    []string
		id      string
		parents []string
	}{
		{[]string{"--store", store, "import", "--json", "-f", file, "base"}, "base", []string{}},
		{[]string{"--store", store, "import", "--json", "--file", file, "--parent", "base", "child"}, "child", []string{"base"}},
	} {
		out, errOut, code := run(t, nil, tc.args...)
		if code != 0 || errOut != "" {
			t.Fatalf("%v: code %d, stderr %q", tc.args, code, errOut)
		}
		var got importResult
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%v: not JSON: %v\n%s", tc.args, err, out)
		}
		if got.ID != tc.id || got.Size != 99 || !strings.HasPrefix(got.DiffID, "sha256:ebd49c9a7a3f") ||
			got.TarSize != int64(len(readFile(t, "sample.rebuilt.tar"))) || got.Entries == 0 ||
			strings.Join(got.Parents, ",") != strings.Join(tc.parents, ",") || got.Parents == nil {
			t.Errorf("%v: %+v", tc.args, got)
		}
		for _, key := range []string{`"id"`, `"size"`, `"diff_id"`, `"tar_size"`, `"parents"`} {
			if !strings.Contains(out, key) {
				t.Errorf("%v: no %s in %s", tc.args, key, out)
			}
		}
	}
}

// TestVersion: --version prints the module version and, when the build
// recorded it, the VCS revision.
func TestVersion(t *testing.T) {
	out, _, code := run(t, nil, "--version")
	if code != 0 || !strings.HasPrefix(out, "winlayer ") {
		t.Fatalf("--version: %d %q", code, out)
	}
	defer func(f func() (*debug.BuildInfo, bool)) { readBuildInfo = f }(readBuildInfo)
	readBuildInfo = func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "0123456789abcdef0123"},
			{Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}, true
	}
	out, _, code = run(t, nil, "--version")
	if want := "winlayer v1.2.3 (git 0123456789ab, 2026-12-01T10:00:00Z, modified) go1.99\n"; code != 0 || out != want {
		t.Errorf("--version: %d %q, want %q", code, out, want)
	}
	readBuildInfo = func() (*debug.BuildInfo, bool) { return nil, false }
	if out, _, _ = run(t, nil, "--version"); !strings.Contains(out, "unknown") {
		t.Errorf("--version without build info: %q", out)
	}
}

// tarOf builds a PAX tar of the given headers, each file with its name as
// content.
func tarOf(t *testing.T, hdrs ...*tar.Header) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, h := range hdrs {
		h.Format = tar.FormatPAX
		h.ModTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(h.Name))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(h.Name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestInspectHardLink: a hard link shows its target's metadata and says
// where the target is, in the layer or in a parent.
func TestInspectHardLink(t *testing.T) {
	store := t.TempDir()
	if _, errOut, code := run(t, readFile(t, "sample.rebuilt.tar"), "--store", store, "import", "base"); code != 0 {
		t.Fatal(errOut)
	}
	child := tarOf(t, &tar.Header{Name: "Files/", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: "Files/hl.txt", Typeflag: tar.TypeLink, Linkname: "Files/hello.txt"})
	if _, errOut, code := run(t, child, "--store", store, "import", "--parent", "base", "child"); code != 0 {
		t.Fatal(errOut)
	}
	for _, tc := range []struct{ id, path, where string }{
		{"base", "Files/hardlink.txt", "Hard link:   to Files/hello.txt (the metadata below is the target's)"},
		{"child", `C:\hl.txt`, "Hard link:   to Files/hello.txt in parent layer base (the metadata below is the target's)"},
	} {
		out, errOut, code := run(t, nil, "--store", store, "inspect", tc.id, tc.path)
		if code != 0 {
			t.Fatalf("inspect %s %s: %s", tc.id, tc.path, errOut)
		}
		for _, want := range []string{tc.where, "Kind:        hardlink", "ARCHIVE (0x20)", "Size:        22",
			"Written:     2023-05-01T12:34:56.1234567Z", "SDDL:        O:BUG:BU", ":Zone.Identifier:$DATA (26 bytes)"} {
			if !strings.Contains(out, want) {
				t.Errorf("inspect %s %s: no %q in\n%s", tc.id, tc.path, want, out)
			}
		}
		out, _, _ = run(t, nil, "--store", store, "inspect", "--json", tc.id, tc.path)
		var v entryView
		if err := json.Unmarshal([]byte(out), &v); err != nil || v.Size != 22 || v.LinkTarget != "Files/hello.txt" || v.SDDL != "O:BUG:BU" {
			t.Errorf("inspect --json %s %s: %v %+v", tc.id, tc.path, err, v)
		}
	}
}

// TestInspectUnsetTimes: a zero FILETIME (a layer written through the
// Writer with no times, as a backup stream may carry) shows as "not set",
// not as the year 2185.
func TestInspectUnsetTimes(t *testing.T) {
	store := t.TempDir()
	s, err := layer.Open(store)
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.NewWriter(context.Background(), "notimes", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add(`Files`, &backupstream.FileBasicInfo{FileAttributes: backupstream.AttrDirectory}); err != nil {
		t.Fatal(err)
	}
	if err := w.Add(`Files\a.txt`, &backupstream.FileBasicInfo{LastWriteTime: backupstream.FiletimeFromTime(time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC))}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, nil, "--store", store, "inspect", "notimes", "a.txt")
	if code != 0 {
		t.Fatal(errOut)
	}
	for _, want := range []string{"Attributes:  none (0x0)", "Created:     not set", "Accessed:    not set", "Written:     2024-01-02T00:00:00Z", "Changed:     not set"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "2185") {
		t.Errorf("a zero FILETIME shown as a date:\n%s", out)
	}
	out, _, _ = run(t, nil, "--store", store, "inspect", "--json", "notimes", "a.txt")
	if strings.Contains(out, "creation_time") || !strings.Contains(out, `"last_write_time": "2024-01-02T00:00:00Z"`) {
		t.Errorf("inspect --json:\n%s", out)
	}
}

// TestLayerPath: Windows paths are under Files/ (so C:\Files\x is
// Files/Files/x), tar paths are taken as they are.
func TestLayerPath(t *testing.T) {
	cases := []struct{ in, name, alt string }{
		{`C:\Windows\x`, "Files/Windows/x", ""},
		{`c:\Windows\x`, "Files/Windows/x", ""},
		{`C:/Windows/x`, "Files/Windows/x", ""},
		{`C:\Files\x`, "Files/Files/x", "Files/x"},
		{`C:\files\x`, "Files/files/x", "files/x"},
		{`C:\Hives\x`, "Files/Hives/x", "Hives/x"},
		{`\Files\x`, "Files/Files/x", "Files/x"},
		{`Files\x`, "Files/Files/x", "Files/x"},
		{`Windows\x`, "Files/Windows/x", ""},
		{`C:\`, "Files", ""},
		{`C:`, "Files", ""},
		{"Files/x", "Files/x", ""},
		{"/Files/x/", "Files/x", ""},
		{"files/x", "files/x", ""},
		{"Files", "Files", ""},
		{"Hives/System_Delta", "Hives/System_Delta", ""},
		{"UtilityVM/Files/EFI", "UtilityVM/Files/EFI", ""},
		{"Windows/x", "Files/Windows/x", ""},
		{"hello.txt", "Files/hello.txt", ""},
		{"FilesX/y", "Files/FilesX/y", ""},
		{"", "Files", ""},
	}
	for _, tc := range cases {
		if name, alt := layerPath(tc.in); name != tc.name || alt != tc.alt {
			t.Errorf("layerPath(%q) = %q, %q; want %q, %q", tc.in, name, alt, tc.name, tc.alt)
		}
	}
}

// TestInspectPathForms: every form of a path finds its entry through the
// command line, and C:\Files\x is the file Files/Files/x.
func TestInspectPathForms(t *testing.T) {
	store := t.TempDir()
	in := tarOf(t, &tar.Header{Name: "Files/", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: "Files/x.txt", Typeflag: tar.TypeReg, Mode: 0o644},
		&tar.Header{Name: "Files/Files/", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: "Files/Files/x.txt", Typeflag: tar.TypeReg, Mode: 0o644},
		&tar.Header{Name: "Files/only.txt", Typeflag: tar.TypeReg, Mode: 0o644})
	if _, errOut, code := run(t, in, "--store", store, "import", "l"); code != 0 {
		t.Fatal(errOut)
	}
	for _, tc := range []struct{ path, name string }{
		{`C:\Files\x.txt`, "Files/Files/x.txt"},
		{`c:/Files/x.txt`, "Files/Files/x.txt"},
		{`Files\x.txt`, "Files/Files/x.txt"},
		{"Files/Files/x.txt", "Files/Files/x.txt"},
		{"Files/x.txt", "Files/x.txt"},
		{"files/X.TXT", "Files/x.txt"},
		{`C:\x.txt`, "Files/x.txt"},
		{"x.txt", "Files/x.txt"},
		{"Files", "Files"},
		{`C:\`, "Files"},
	} {
		out, errOut, code := run(t, nil, "--store", store, "inspect", "l", tc.path)
		if code != 0 || !strings.HasPrefix(out, "Name:        "+tc.name+"\n") {
			t.Errorf("inspect %s: code %d, %q %q; want %s", tc.path, code, out, errOut, tc.name)
		}
	}
	_, errOut, code := run(t, nil, "--store", store, "inspect", "l", `C:\Files\only.txt`)
	if code != 1 || !strings.Contains(errOut, `no entry "Files/Files/only.txt"`) || !strings.Contains(errOut, "the layer path Files/only.txt exists") {
		t.Errorf("inspect of a Windows path whose tar reading exists: %d %q", code, errOut)
	}
}

// TestStoreFlagWhereUsed: --store is a flag of the commands that use a
// store, before or after the command name, and of no other.
func TestStoreFlagWhereUsed(t *testing.T) {
	store := t.TempDir()
	for _, args := range [][]string{{"--help"}, {"records", "--help"}, {"records", "dump", "--help"}, {"verify", "--help"}, {"help"}, {"login", "--help"}, {"image", "copy", "--help"}} {
		out, _, code := run(t, nil, args...)
		if code != 0 || strings.Contains(out, "--store string") {
			t.Errorf("%v: code %d, shows a --store flag:\n%s", args, code, out)
		}
	}
	for _, c := range [][]string{{"import"}, {"export"}, {"ls"}, {"inspect"}, {"rm"}, {"cleanup"}, {"check"},
		{"image", "pull"}, {"image", "load"}, {"image", "ls"}, {"image", "inspect"}, {"image", "rm"}, {"image", "tag"},
		{"image", "push"}, {"image", "save"}} {
		if out, _, _ := run(t, nil, append(c, "--help")...); !strings.Contains(out, "--store string") {
			t.Errorf("%v --help does not show --store", c)
		}
	}
	if _, errOut, code := run(t, nil, "--store", store, "image", "copy", "oci:/nonexistent", "oci:/nonexistent2"); code != 2 || !strings.Contains(errOut, "'winlayer image copy' uses no layer store: leave --store out") {
		t.Errorf("image copy with --store: %d %q", code, errOut)
	}
	for _, args := range [][]string{{"--store", store, "ls"}, {"ls", "--store", store}, {"--store=" + store, "ls"}} {
		if _, errOut, code := run(t, nil, args...); code != 0 {
			t.Errorf("%v: %d %s", args, code, errOut)
		}
	}
	if _, errOut, code := run(t, readFile(t, "sample.tar"), "--store", store, "records", "dump"); code != 2 || !strings.Contains(errOut, "'winlayer records dump' uses no layer store") {
		t.Errorf("records dump with --store: %d %q", code, errOut)
	}
}
