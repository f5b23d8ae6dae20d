package cli

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/winlayer/winlayer/internal/registrytest"
)

// What a new user met trying the image verbs (trial of session 6): each
// test fails without its fix.

// TestNewUserLoadArchiveProgress: the plain progress lines of a
// docker-archive load name each layer by its store id; they read
// "layer 2/2 :: fetching" (the empty blob digest printed as ":").
func TestNewUserLoadArchiveProgress(t *testing.T) {
	img := cliTestImage(t, "windows", "10.0.20348.1", 21, 2)
	tag, _ := name.NewTag("example.com/progress/app:1")
	arch := filepath.Join(t.TempDir(), "app.tar")
	if err := tarball.MultiRefWriteToFile(arch, map[name.Reference]v1.Image{tag: img}); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := run(t, nil, "--store", t.TempDir(), "image", "load", "docker-archive:"+arch)
	if code != 0 {
		t.Fatalf("load: %d %q", code, errOut)
	}
	line := regexp.MustCompile(`^layer [12]/2 [0-9a-f]{12}: (fetching|done \(.*\))$`)
	lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
	if len(lines) != 4 {
		t.Errorf("progress: %d lines, want 4: %q", len(lines), errOut)
	}
	for _, l := range lines {
		if !line.MatchString(l) {
			t.Errorf("progress line %q does not name its layer", l)
		}
	}
}

// TestNewUserTruncatedArchive: a docker-archive cut short was called "not
// a docker-archive (manifest.json): unexpected EOF"; it is named as cut
// short, with the member it ends in, and the store gets no image.
func TestNewUserTruncatedArchive(t *testing.T) {
	img := cliTestImage(t, "windows", "10.0.20348.1", 22, 2)
	tag, _ := name.NewTag("example.com/trunc/app:1")
	dir := t.TempDir()
	arch := filepath.Join(dir, "app.tar")
	if err := tarball.MultiRefWriteToFile(arch, map[name.Reference]v1.Image{tag: img}); err != nil {
		t.Fatal(err)
	}
	full, err := os.ReadFile(arch)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.tar")
	if err := os.WriteFile(cut, full[:len(full)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	store := t.TempDir()
	for _, args := range [][]string{
		{"--store", store, "image", "load", "docker-archive:" + cut},
		{"image", "copy", "docker-archive:" + cut, "oci:" + filepath.Join(dir, "out")},
	} {
		_, errOut, code := run(t, nil, args...)
		if code != 1 || !strings.Contains(errOut, "the archive is cut short (it ends inside member ") ||
			!strings.Contains(errOut, "copy or save it again") || strings.Contains(errOut, "not a docker-archive") {
			t.Errorf("%v: %d %q", args, code, errOut)
		}
	}
	out, _, _ := run(t, nil, "--store", store, "image", "ls", "--json")
	if strings.TrimSpace(out) != "[]" {
		t.Errorf("images after a failed load: %s", out)
	}
}

// TestNewUserImageLsReferences: a pull by tag records the tag and
// repo@digest; the table showed both (a 130-column REFERENCE cell
// repeating the digest column), now the tag; --json keeps both.
func TestNewUserImageLsReferences(t *testing.T) {
	host := cliRegistry(t)
	img := cliTestImage(t, "windows", "10.0.20348.1", 23, 1)
	ref := host + "/ls/app:1"
	cliPush(t, ref, img)
	d, _ := img.Digest()
	store := t.TempDir()
	if _, errOut, code := run(t, nil, "--store", store, "image", "pull", "-q", ref); code != 0 {
		t.Fatalf("pull: %d %q", code, errOut)
	}
	out, _, code := run(t, nil, "--store", store, "image", "ls")
	if code != 0 || !strings.Contains(out, ref+"  ") || strings.Contains(out, "@sha256:") {
		t.Errorf("image ls: %d %q", code, out)
	}
	out, _, _ = run(t, nil, "--store", store, "image", "ls", "--json")
	var all []inspectJSON
	if err := json.Unmarshal([]byte(out), &all); err != nil || len(all) != 1 ||
		!slices.Equal(all[0].References, []string{ref, host + "/ls/app@" + d.String()}) {
		t.Errorf("image ls --json references: %v %s", err, out)
	}
}

func TestTableReferences(t *testing.T) {
	const dg = "sha256:0123456789012345678901234567890123456789012345678901234567890123"
	for _, c := range []struct{ in, want []string }{
		{nil, nil},
		{[]string{"h:5000/a:1", "h:5000/a@" + dg}, []string{"h:5000/a:1"}},
		// A digest reference of another repository than the tag's stays.
		{[]string{"h:5000/a:1", "h:5000/b@" + dg}, []string{"h:5000/a:1", "h:5000/b@" + dg}},
		// Without a tag the digest reference is the name.
		{[]string{"h:5000/a@" + dg}, []string{"h:5000/a@" + dg}},
		// A layout's ref.name is kept as it is.
		{[]string{"latest"}, []string{"latest"}},
	} {
		if got := tableReferences(c.in); !slices.Equal(got, c.want) {
			t.Errorf("tableReferences(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestNewUserRegistryHints: a pull refused with 401 said only
// "UNAUTHORIZED: authentication required" (push and copy named 'winlayer
// login'); a registry that is not running gave two "connection refused"
// errors, for https and http, and nothing about what to check.
func TestNewUserRegistryHints(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	reg := registrytest.InProcess(t, func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
		})
	})
	_, errOut, code := run(t, nil, "--store", t.TempDir(), "image", "pull", reg.Host+"/locked/app:1")
	// The command named is one that works when pasted: login needs -u and a
	// password ('winlayer login HOST' alone is a usage error).
	if code != 1 || !strings.Contains(errOut, "give credentials with 'winlayer login -u USER --password-stdin "+reg.Host+"'") {
		t.Errorf("pull refused with 401: %d %q", code, errOut)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l.Addr().String()
	l.Close()
	for _, args := range [][]string{
		{"--store", t.TempDir(), "image", "pull", down + "/app:1"},
		{"login", "-u", "u", "-p", "p", down},
		{"image", "copy", down + "/app:1", "oci:" + filepath.Join(t.TempDir(), "out")},
	} {
		_, errOut, code := run(t, nil, args...)
		if code != 1 || !strings.Contains(errOut, "(nothing listens at "+down+": is the registry running, and are the host and port right?)") {
			t.Errorf("%v with no registry: %d %q", args, code, errOut)
		}
	}
}

// TestNewUserCheckAfterInterruptedPull: an interrupted or failed pull keeps
// the image layers it completed, whose parents may be missing; check
// called them bad with nothing more. It still does (exit 1), and says what
// leaves such a layer and what to do; a hand-named layer with a missing
// parent gets no such note.
func TestNewUserCheckAfterInterruptedPull(t *testing.T) {
	base := strings.Repeat("a", 64)
	top := strings.Repeat("b", 64)
	in := readFile(t, "sample.rebuilt.tar")
	for _, c := range []struct {
		base, top string
		note      bool
	}{{base, top, true}, {"base", "child", false}} {
		store := t.TempDir()
		for _, args := range [][]string{{"import", c.base}, {"import", "--parent", c.base, c.top}, {"rm", "--force", c.base}} {
			if _, errOut, code := run(t, in, append([]string{"--store", store}, args...)...); code != 0 {
				t.Fatalf("%v: %d %s", args, code, errOut)
			}
		}
		_, errOut, code := run(t, nil, "--store", store, "check", "--fast")
		note := "(" + c.top + ": an image layer whose only problem is a missing parent is what an interrupted or failed 'image pull' or 'image load' leaves"
		if code != 1 || !strings.Contains(errOut, "1 of 1 layers bad: "+c.top) || strings.Contains(errOut, note) != c.note ||
			c.note && !strings.Contains(errOut, "pulling the image again brings the parents, 'winlayer rm ID' drops such a layer") {
			t.Errorf("check of %s without its parent: %d %q", c.top, code, errOut)
		}
	}
}

// TestNewUserPullVerb: 'image pull' of a file source said "load: ..." in
// its errors (the library's word for file sources), though the user ran
// pull and the command's own checks said "pull ..."; each verb names
// itself.
func TestNewUserPullVerb(t *testing.T) {
	img := cliTestImage(t, "windows", "10.0.20348.1", 24, 1)
	tag, _ := name.NewTag("example.com/verb/app:1")
	arch := filepath.Join(t.TempDir(), "app.tar")
	if err := tarball.MultiRefWriteToFile(arch, map[name.Reference]v1.Image{tag: img}); err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"pull", "load"} {
		for _, src := range []string{"oci:" + testdata + "/image", "oci:" + testdata + "/image:nope", "docker-archive:" + arch + ":nope:1"} {
			_, errOut, code := run(t, nil, "--store", t.TempDir(), "image", verb, src)
			if code != 1 || !strings.HasPrefix(errOut, "winlayer: "+verb+": ") {
				t.Errorf("image %s %s: %d %q", verb, src, code, errOut)
			}
		}
	}
}

// TestNewUserPlatformHelp: the sample layout has two Windows versions;
// without --platform pull refuses, with --platform windows/amd64 it takes
// the newest, which --help did not say (it spoke only of OSVERSION).
func TestNewUserPlatformHelp(t *testing.T) {
	out, _, code := run(t, nil, "image", "pull", "--help")
	if code != 0 || !strings.Contains(out, "no OSVERSION: the newest Windows version") || !strings.Contains(out, "windows/amd64 alone the newest version") {
		t.Errorf("pull --help: %d %q", code, out)
	}
	out, errOut, code := run(t, nil, "--store", t.TempDir(), "image", "pull", "-q", "--platform", "windows/amd64", "oci:"+testdata+"/image")
	if code != 0 || !strings.HasPrefix(out, "sha256:07e39aef97ed") {
		t.Errorf("pull --platform windows/amd64 of the sample: %d %q %q, want the 10.0.20348 image", code, out, errOut)
	}
}

// TestNewUserLogin: login's usage line showed -u as optional ("[-u USER]")
// though it is required; an empty standard input with --password-stdin
// said "reading the password from standard input: EOF".
func TestNewUserLogin(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	_, errOut, code := run(t, nil, "login")
	if code != 2 || !strings.Contains(errOut, "usage: winlayer login -u USER (--password-stdin | -p PASS) HOST") {
		t.Errorf("login without arguments: %d %q", code, errOut)
	}
	_, errOut, code = run(t, []byte{}, "login", "-u", "ci", "--password-stdin", "127.0.0.1:1")
	if code != 2 || !strings.Contains(errOut, "--password-stdin: standard input is empty; pipe the password in: echo \"$PASSWORD\" | winlayer login -u ci --password-stdin 127.0.0.1:1") {
		t.Errorf("login with an empty standard input: %d %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(os.Getenv("DOCKER_CONFIG"), "config.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("config.json after refused logins: %v", err)
	}
}

// TestNewUserPullNewStore: a pull or load into a store that does not exist
// yet created the store before finding that the registry was down, the
// tag missing, the image a Linux one or the platform ambiguous, leaving an
// empty store (by default /var/lib/winlayer) behind. The store is created
// only for a source that has the image.
func TestNewUserPullNewStore(t *testing.T) {
	host := cliRegistry(t)
	cliPush(t, host+"/lin:1", cliTestImage(t, "linux", "", 25, 1))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l.Addr().String()
	l.Close()
	for _, args := range [][]string{
		{"image", "pull", down + "/app:1"},
		{"image", "pull", host + "/missing:1"},
		{"image", "pull", host + "/lin:1"},
		{"image", "pull", "oci:" + testdata + "/image"},
		{"image", "load", "oci:" + testdata + "/image:nope"},
		{"image", "pull", "--platform", "windows/arm64", "oci:" + testdata + "/image"},
	} {
		store := filepath.Join(t.TempDir(), "store")
		_, errOut, code := run(t, nil, append([]string{"--store", store}, args...)...)
		if code != 1 || !strings.HasPrefix(errOut, "winlayer: "+args[1]+": ") {
			t.Errorf("%v: %d %q", args, code, errOut)
		}
		if _, err := os.Stat(store); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%v: the store exists after the refusal (%v)", args, err)
		}
	}
	store := filepath.Join(t.TempDir(), "store")
	if _, errOut, code := run(t, nil, "--store", store, "image", "pull", "-q", "--platform", "windows/amd64:10.0.20348", "oci:"+testdata+"/image"); code != 0 {
		t.Fatalf("pull into a new store: %d %q", code, errOut)
	}
	if out, _, code := run(t, nil, "--store", store, "image", "ls", "--json"); code != 0 || !strings.Contains(out, "07e39aef97ed") {
		t.Errorf("image ls of the new store: %d %q", code, out)
	}
}

// TestNewUserSavedCredentialsRefused: with credentials saved in docker's
// config that the registry refuses (a changed password), the hint said
// "give credentials with 'winlayer login HOST'" as if there were none; it
// says the saved ones were refused (401) or lack the rights (403).
func TestNewUserSavedCredentialsRefused(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	status := http.StatusUnauthorized
	reg := registrytest.InProcess(t, func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.Header().Set("Content-Type", "application/json")
			code := "UNAUTHORIZED"
			if status == http.StatusForbidden && r.URL.Path != "/v2/" {
				code = "DENIED"
			} else if r.URL.Path == "/v2/" && status == http.StatusForbidden {
				w.WriteHeader(http.StatusOK)
				return
			}
			w.WriteHeader(status)
			w.Write([]byte(`{"errors":[{"code":"` + code + `","message":"no"}]}`))
		})
	})
	if _, errOut, code := run(t, nil, "login", "-u", "ci", "-p", "old", "--no-verify", reg.Host); code != 0 {
		t.Fatalf("login --no-verify: %d %q", code, errOut)
	}
	for _, c := range []struct {
		status int
		want   string
	}{
		{http.StatusUnauthorized, "(the registry refused the credentials saved for " + reg.Host + ": log in again with 'winlayer login -u USER --password-stdin " + reg.Host + "')"},
		{http.StatusForbidden, "(the registry denied access to the user saved for " + reg.Host + ": check that user's rights"},
	} {
		status = c.status
		_, errOut, code := run(t, nil, "--store", t.TempDir(), "image", "pull", reg.Host+"/locked/app:1")
		if code != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("pull with saved credentials, HTTP %d: %d %q", c.status, code, errOut)
		}
	}
}

// TestNewUserSaveRecompressed: an image pulled with --no-keep-blobs and
// saved: push said "digest changed: the source was …" and carried the note
// and the stored digest in --json; save printed the new digest alone and
// its --json had source_digest = digest.
func TestNewUserSaveRecompressed(t *testing.T) {
	store := t.TempDir()
	out, errOut, code := run(t, nil, "--store", store, "image", "pull", "-q", "--no-keep-blobs", "--platform", "windows/amd64:10.0.20348", "oci:"+testdata+"/image")
	if code != 0 {
		t.Fatalf("pull: %d %q", code, errOut)
	}
	stored := strings.TrimSpace(out)
	dir := t.TempDir()
	for _, dst := range []string{"oci:" + filepath.Join(dir, "lay"), "docker-archive:" + filepath.Join(dir, "a.tar")} {
		out, errOut, code := run(t, nil, "--store", store, "image", "save", "-q", stored, dst)
		if code != 0 || !strings.Contains(out, "digest changed: the source was "+stored+"\n") || !strings.Contains(errOut, "digest changes") {
			t.Errorf("save %s: %d %q %q", dst, code, out, errOut)
		}
	}
	out, _, code = run(t, nil, "--store", store, "image", "save", "--json", "-q", stored, "oci:"+filepath.Join(dir, "lay2"))
	var res struct {
		SourceDigest string   `json:"source_digest"`
		Notes        []string `json:"notes"`
	}
	if err := json.Unmarshal([]byte(out), &res); code != 0 || err != nil || res.SourceDigest != stored || len(res.Notes) == 0 || !strings.Contains(res.Notes[0], "recompressed") {
		t.Errorf("save --json: %d %v %q", code, err, out)
	}
}
