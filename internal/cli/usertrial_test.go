package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/winlayer/winlayer/internal/registrytest"
)

// TestUsageMessages: what a user who mistypes a command line reads. Each
// message says what was wrong and what the command wants, and exits 2
// with the pointer to --help.
func TestUsageMessages(t *testing.T) {
	store := t.TempDir()
	missing := filepath.Join(t.TempDir(), "nostore")
	cases := []struct {
		args []string
		code int
		want []string
	}{
		// A missing argument: how many the command takes and its usage line
		// (cobra said "accepts 1 arg(s), received 0").
		{[]string{"--store", store, "export"}, 2, []string{"export takes ID, got 0 arguments (missing ID); usage: winlayer export ID > layer.tar", "Run 'winlayer export --help'"}},
		{[]string{"--store", store, "image", "push", "x"}, 2, []string{"image push takes NAME DEST, got 1 argument (missing DEST); usage: winlayer image push NAME DEST"}},
		// cobra's MinimumNArgs was no usage error (exit 1, no --help hint).
		{[]string{"--store", store, "image", "save", "x"}, 2, []string{"image save takes NAME... DEST, got 1 argument (missing DEST); usage: winlayer image save NAME... DEST", "Run 'winlayer image save --help'"}},
		// cobra.NoArgs called an argument an "unknown command".
		{[]string{"--store", store, "ls", "extra"}, 2, []string{`ls takes no arguments, got 1 argument (extra "extra"); usage: winlayer ls`}},
		{[]string{"--store", store, "image", "ls", "extra"}, 2, []string{`image ls takes no arguments`}},
		// A mistyped command exited 1, without the --help hint.
		{[]string{"imprt"}, 2, []string{`unknown command "imprt"`, "import", "Run 'winlayer --help'"}},
		// --store given to a command that uses no store said "unknown flag".
		{[]string{"--store", store, "verify", "x.tar"}, 2, []string{"'winlayer verify' uses no layer store: leave --store out"}},
		{[]string{"login", "--store", store, "127.0.0.1:1"}, 2, []string{"'winlayer login' uses no layer store"}},
		// ... but a group that has storeful verbs keeps cobra's error.
		{[]string{"image", "--store", store, "bogus"}, 2, []string{"unknown flag: --store"}},
		// verify of a missing file or a directory, before any import (a
		// directory read as a tar said "read DIR: is a directory").
		{[]string{"verify", testdata + "/sample.tar", "nothere.tar"}, 2, []string{"verify nothere.tar: no such file", "oci:DIR"}},
		{[]string{"verify", testdata + "/image"}, 2, []string{"verify " + testdata + "/image: a directory, not a layer tar (an OCI image layout is oci:" + testdata + "/image)"}},
		// A path without oci: went to Docker Hub as a repository.
		{[]string{"image", "copy", "oci:" + testdata + "/image", "/tmp/mirror"}, 2, []string{`"/tmp/mirror" is a path, not a registry reference: write oci:/tmp/mirror`}},
		{[]string{"--store", store, "image", "pull", testdata + "/image"}, 2, []string{"is a path", "oci:" + testdata + "/image"}},
		// push to a path was told to write oci:PATH or docker-archive:PATH,
		// which push refuses in turn: it says image save writes files.
		{[]string{"--store", store, "image", "push", "app", "./app.tar"}, 2, []string{`push app: "./app.tar" is a path, not a registry reference: push writes to a registry`, "'winlayer image save app docker-archive:./app.tar'"}},
		// The OS version after a slash.
		{[]string{"--store", store, "image", "pull", "--platform", "windows/amd64/10.0.20348", "oci:" + testdata + "/image"}, 2, []string{"goes after a colon: windows/amd64:10.0.20348"}},
		// A short name that is no stored reference: what NAME is, where
		// the names are.
		{[]string{"--store", store, "image", "inspect", "app"}, 1, []string{"image app: no such image in the store", "in full", "'winlayer image ls' lists them"}},
		// Capitals in a repository path: said, with the lower-case form.
		{[]string{"--store", store, "image", "pull", "127.0.0.1:5000/Win/App:V1"}, 2, []string{"repository names are lower case: win/app, not Win/App"}},
		{[]string{"image", "copy", "oci:" + testdata + "/image", "127.0.0.1:5000/Mirror/app:1"}, 2, []string{"lower case: mirror/app, not Mirror/app"}},
		{[]string{"--store", store, "image", "tag", "x", "Bad/Name:1"}, 2, []string{"not a valid image reference", "lower case: bad/name, not Bad/Name"}},
		// login given a repository instead of a registry host.
		{[]string{"login", "-u", "u", "-p", "p", "127.0.0.1:5000/win/app"}, 2, []string{"login 127.0.0.1:5000/win/app: HOST is a registry, host[:port], not a repository: winlayer login 127.0.0.1:5000"}},
		// A missing store: where the store comes from and what creates one.
		{[]string{"--store", missing, "ls"}, 1, []string{"store " + missing + ": no such store", "--store DIR or $WINLAYER_STORE", "'image pull' and 'image load' create one"}},
		{[]string{"--store", missing, "image", "ls"}, 1, []string{"no such store", "'image pull'"}},
		{[]string{"--store", missing, "rm", "x"}, 1, []string{"no such store", "'winlayer import'"}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, errOut, code := run(t, nil, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr %q", code, tc.code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q lacks %q", errOut, w)
				}
			}
		})
	}
}

// TestSaveArchiveSeveralImages: a multi-image docker-archive's summary
// names every image it holds (it gave the first image's digest alone, as
// if the archive held one).
func TestSaveArchiveSeveralImages(t *testing.T) {
	store := t.TempDir()
	const d2019 = "sha256:cb027c7caeef2cfe888eb429b658139b6e8ba2626aff6ceef0e5ef2e884707fd"
	const d2022 = "sha256:07e39aef97edd99f38a923b495d8d0345a8a211c633aaa2b7a3f5b502c032f71"
	for _, v := range []string{"10.0.17763", "10.0.20348"} {
		if _, errOut, code := run(t, nil, "--store", store, "image", "load", "-q", "--platform", "windows/amd64:"+v, "oci:"+testdata+"/image"); code != 0 {
			t.Fatalf("load %s: %d %s", v, code, errOut)
		}
	}
	if _, errOut, code := run(t, nil, "--store", store, "image", "tag", d2022, "127.0.0.1:5000/app:2022"); code != 0 {
		t.Fatalf("tag: %d %s", code, errOut)
	}
	archive := filepath.Join(t.TempDir(), "two.tar")
	out, errOut, code := run(t, nil, "--store", store, "image", "save", "-q", d2019, "127.0.0.1:5000/app:2022", "docker-archive:"+archive)
	if code != 0 {
		t.Fatalf("save: %d %s", code, errOut)
	}
	want := "saved 2 images to docker-archive:" + archive + " (layers: 3 copied, 0 already there, 0 foreign left out)\n" +
		"  " + d2019 + " <none>\n" +
		"  " + d2022 + " 127.0.0.1:5000/app:2022\n"
	if out != want {
		t.Errorf("save printed\n%s\nwant\n%s", out, want)
	}
	// One image: the one line with its digest; the name it has in the
	// archive follows "as", not glued to the file's path.
	out, _, _ = run(t, nil, "--store", store, "image", "save", "-q", d2022, "docker-archive:"+archive)
	if want := "saved " + d2022 + " (" + d2022 + ") to docker-archive:" + archive + " as 127.0.0.1:5000/app:2022 (layers: 2 copied, 0 already there, 0 foreign left out)\n"; out != want {
		t.Errorf("save of one image printed\n%q\nwant\n%q", out, want)
	}
}

// TestSaveResultLine: the line of a saved image names the image, its
// digest, the destination and the name it has there, each apart ("saved
// docker-archive:/x.tar:app:1: sha256:…" read as one path).
func TestSaveResultLine(t *testing.T) {
	store := t.TempDir()
	const d2019 = "sha256:cb027c7caeef2cfe888eb429b658139b6e8ba2626aff6ceef0e5ef2e884707fd"
	if _, errOut, code := run(t, nil, "--store", store, "image", "load", "-q", "--platform", "windows/amd64:10.0.17763", "oci:"+testdata+"/image"); code != 0 {
		t.Fatalf("load: %d %s", code, errOut)
	}
	dir := t.TempDir()
	const counts = " (layers: 2 copied, 0 already there, 0 foreign left out)\n"
	for _, c := range []struct{ dest, want string }{
		{"docker-archive:" + dir + "/a.tar", "saved latest (" + d2019 + ") to docker-archive:" + dir + "/a.tar" + counts},
		{"docker-archive:" + dir + "/b.tar:app:1", "saved latest (" + d2019 + ") to docker-archive:" + dir + "/b.tar as app:1" + counts},
		{"oci:" + dir + "/l1", "saved latest (" + d2019 + ") to oci:" + dir + "/l1" + counts},
		{"oci:" + dir + "/l2:v1", "saved latest (" + d2019 + ") to oci:" + dir + "/l2 as v1" + counts},
	} {
		out, errOut, code := run(t, nil, "--store", store, "image", "save", "-q", "latest", c.dest)
		if code != 0 || out != c.want {
			t.Errorf("save latest %s: %d %q\n%q\nwant\n%q", c.dest, code, errOut, out, c.want)
		}
	}
	// --json is unchanged: the destination in full.
	out, _, code := run(t, nil, "--store", store, "image", "save", "-q", "--json", "latest", "docker-archive:"+dir+"/c.tar:app:1")
	if code != 0 || !strings.Contains(out, `"destination": "docker-archive:`+dir+`/c.tar:app:1"`) {
		t.Errorf("save --json: %d %q", code, out)
	}
}

// TestExportOutputDirMissing: -o into a directory that does not exist names
// the user's file and the cause, not the temporary file beside it.
func TestExportOutputDirMissing(t *testing.T) {
	store := t.TempDir()
	if _, errOut, code := run(t, readFile(t, "sample.tar"), "--store", store, "import", "base"); code != 0 {
		t.Fatalf("import: %d %s", code, errOut)
	}
	dir := filepath.Join(t.TempDir(), "nope")
	_, errOut, code := run(t, nil, "--store", store, "export", "-o", dir+"/x.tar", "base")
	want := "export base: -o " + dir + "/x.tar: cannot create a file in " + dir + ": no such file or directory"
	if code != 1 || !strings.Contains(errOut, want) || strings.Contains(errOut, ".tmp") {
		t.Errorf("export -o into a missing directory: %d %q; want %q", code, errOut, want)
	}
}

// TestHelpText: every verb's one-line summary reads as the others do
// (capitalised), and the flag help of push and save speaks of what each
// writes to (--include-foreign's shared text spoke of registries to save
// and of OCI layouts to push).
func TestHelpText(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if s := c.Short; s != "" && !c.Hidden && c.Name() != "completion" && c.Parent() != nil && c.Parent().Name() != "completion" {
			if r := []rune(s)[0]; !unicode.IsUpper(r) {
				t.Errorf("%q: Short %q is not capitalised", c.CommandPath(), s)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd(&options{}))
	for verb, unwanted := range map[string]string{"push": "OCI layout", "save": "registry"} {
		out, _, _ := run(t, nil, "image", verb, "--help")
		i := strings.Index(out, "--include-foreign ")
		if i < 0 {
			t.Fatalf("image %s --help has no --include-foreign", verb)
		}
		line, _, _ := strings.Cut(out[i:], "\n")
		if strings.Contains(line, unwanted) {
			t.Errorf("image %s --include-foreign speaks of %q: %s", verb, unwanted, line)
		}
	}
}

// TestPullUnknownTag: a tag or repository the registry does not have is
// said in words, without go-containerregistry's Go map of the registry's
// error detail ("manifest unknown; map[Tag:nope]"), and leaves the store
// without an image.
func TestPullUnknownTag(t *testing.T) {
	r := registrytest.Distribution(t, registrytest.NoAuth())
	store := t.TempDir()
	for _, ref := range []string{r.Host + "/win/none:nope", r.Host + "/win/none@sha256:" + strings.Repeat("a", 64)} {
		_, errOut, code := run(t, nil, "--store", store, "image", "pull", ref)
		if code != 1 || !strings.Contains(errOut, "MANIFEST_UNKNOWN: manifest unknown (the registry has no image of that tag or digest in that repository)") || strings.Contains(errOut, "map[") {
			t.Errorf("pull %s: %d %q", ref, code, errOut)
		}
	}
	if out, _, _ := run(t, nil, "--store", store, "image", "ls", "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("image ls after the failed pulls: %q", out)
	}
}

// TestRmMissingID: rm of an ID the store does not have is no error (rm is
// idempotent) but is not printed as removed (a mistyped ID looked removed).
func TestRmMissingID(t *testing.T) {
	store := t.TempDir()
	if _, errOut, code := run(t, readFile(t, "sample.tar"), "--store", store, "import", "base"); code != 0 {
		t.Fatalf("import: %d %s", code, errOut)
	}
	out, errOut, code := run(t, nil, "--store", store, "rm", "bsae", "base")
	if code != 0 || out != "base\n" || !strings.Contains(errOut, "rm bsae: no such layer, nothing removed") {
		t.Errorf("rm bsae base: %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestPullMissingSourceCreatesNoStore: pull or load of a layout or archive
// that does not exist names the path and leaves no store behind (it
// created an empty one first).
func TestPullMissingSourceCreatesNoStore(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	missing := filepath.Join(t.TempDir(), "nothing")
	for _, args := range [][]string{
		{"image", "pull", "oci:" + missing},
		{"image", "load", "docker-archive:" + missing + ".tar"},
	} {
		_, errOut, code := run(t, nil, append([]string{"--store", store}, args...)...)
		if code != 1 || !strings.Contains(errOut, "no such file or directory") || !strings.Contains(errOut, missing) {
			t.Errorf("%v: %d %q", args, code, errOut)
		}
		if _, err := os.Stat(store); !os.IsNotExist(err) {
			t.Fatalf("%v created the store: %v", args, err)
		}
	}
}
