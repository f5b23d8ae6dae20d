package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/winlayer/winlayer/image"
	"github.com/winlayer/winlayer/internal/registrytest"
	"github.com/winlayer/winlayer/layer"
	"github.com/winlayer/winlayer/layer/layertest"

	"github.com/winlayer/winlayer/image/imagetest"
)

// winImage builds a small Windows image of n gzip layers; foreignURL, when
// set, makes the base layer a foreign one with that url.
func winImage(t *testing.T, seed uint64, n int, foreignURL string) (v1.Image, []byte) {
	t.Helper()
	img := empty.Image
	var base []byte
	for i := range n {
		tb := layertest.Tar(layertest.Dir("Files"),
			layertest.File(fmt.Sprintf("Files/f%d.txt", i), layertest.Bytes(seed*10+uint64(i), 2000+500*i)),
			layertest.Dir("Hives"))
		mt := types.DockerLayer
		if i == 0 && foreignURL != "" {
			mt = types.DockerForeignLayer
		}
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(tb)), nil }, tarball.WithMediaType(mt))
		if err != nil {
			t.Fatal(err)
		}
		add := mutate.Addendum{Layer: l, MediaType: mt}
		if i == 0 && foreignURL != "" {
			add.URLs = []string{foreignURL}
			rc, _ := l.Compressed()
			base, _ = io.ReadAll(rc)
			rc.Close()
		}
		if img, err = mutate.Append(img, add); err != nil {
			t.Fatal(err)
		}
	}
	img = imagetest.WithPlatform(t, img, "windows", "amd64", "10.0.20348.1")
	return img, base
}

// pullInto pulls ref into the store at dir with the library (the pull
// verb is another branch's).
func pullInto(t *testing.T, dir, ref string, kc authn.Keychain) {
	t.Helper()
	ls, err := layer.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	loc, err := image.ParseLocation(ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := image.OpenStore(ls).Pull(context.Background(), loc, image.Config{Keychain: kc}, image.PullOptions{}); err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
}

// loginConfig logs in to r through the CLI with DOCKER_CONFIG in a
// temporary directory, so that the image verbs find the credentials.
func loginConfig(t *testing.T, r *registrytest.Registry) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	if out, errOut, code := run(t, []byte(r.Password+"\n"), "login", "-u", r.Username, "--password-stdin", r.Host); code != 0 {
		t.Fatalf("login: %d %s %s", code, out, errOut)
	}
	return dir
}

func decodeResult(t *testing.T, out string) image.Result {
	t.Helper()
	var r image.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("--json output %q: %v", out, err)
	}
	return r
}

func TestLogin(t *testing.T) {
	r := registrytest.Distribution(t)
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	cfgPath := filepath.Join(dir, "config.json")
	// Other settings of the file are kept.
	if err := os.WriteFile(cfgPath, []byte(`{"proxies":{"default":{"noProxy":"127.0.0.1"}},"auths":{"other.example":{"auth":"eDp5"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(cfgPath)

	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"wrong password", r.Password + "x\n", []string{"login", "-u", r.Username, "--password-stdin", r.Host}, 1, "refused the credentials"},
		{"no password", "", []string{"login", "-u", r.Username, r.Host}, 2, "--password-stdin"},
		{"no user", r.Password, []string{"login", "--password-stdin", r.Host}, 2, "-u USER"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := run(t, []byte(tc.stdin), tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Errorf("code %d (want %d), stderr %q (want %q)", code, tc.code, errOut, tc.want)
			}
			if after, _ := os.ReadFile(cfgPath); !bytes.Equal(after, before) {
				t.Errorf("config.json changed by a refused login:\n%s", after)
			}
		})
	}

	out, errOut, code := run(t, []byte(r.Password+"\n"), "login", "-u", r.Username, "--password-stdin", r.Host)
	if code != 0 || !strings.Contains(out, cfgPath) {
		t.Fatalf("login: %d %q %q", code, out, errOut)
	}
	fi, err := os.Stat(cfgPath)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("config.json: %v, mode %v, want 0600", err, fi.Mode())
	}
	var cf map[string]json.RawMessage
	b, _ := os.ReadFile(cfgPath)
	if err := json.Unmarshal(b, &cf); err != nil || cf["proxies"] == nil || !strings.Contains(string(cf["auths"]), "other.example") {
		t.Errorf("config.json lost other settings:\n%s", b)
	}
	// The default keychain reads what login wrote.
	reg, _ := name.NewRegistry(r.Host)
	a, err := authn.DefaultKeychain.Resolve(reg)
	if err != nil {
		t.Fatal(err)
	}
	ac, err := a.Authorization()
	if err != nil {
		t.Fatal(err)
	}
	if ac.Username != r.Username || ac.Password != r.Password {
		t.Errorf("keychain gives %q/%q, want the login's", ac.Username, ac.Password)
	}
	// And the image verbs use it: copy a layout to the registry.
	img, _ := winImage(t, 1, 1, "")
	layoutDir := filepath.Join(t.TempDir(), "l")
	if _, err := image.Write(context.Background(), image.Location{Kind: image.KindOCI, Path: layoutDir, Tag: "x"}, img, image.Config{}, image.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = run(t, nil, "image", "copy", "-q", "--json", "oci:"+layoutDir+":x", r.Host+"/logged/in:1")
	if code != 0 {
		t.Fatalf("copy with the login's credentials: %d %s", code, errOut)
	}
	want, _ := img.Digest()
	if res := decodeResult(t, out); res.Digest != want.String() {
		t.Errorf("copy: %s, want %s", res.Digest, want)
	}
}

// TestImagePushSaveCopyCLI pulls an image into a store, then pushes it to
// another repository, saves it to a layout and an archive, and copies the
// layout to the registry, all through the command line: one digest.
func TestImagePushSaveCopyCLI(t *testing.T) {
	r := registrytest.Distribution(t)
	loginConfig(t, r)
	img, _ := winImage(t, 2, 2, "")
	want, _ := img.Digest()
	src := r.Ref(t, "src/app:1")
	if err := remote.Write(src, img, remote.WithAuthFromKeychain(r.Keychain())); err != nil {
		t.Fatal(err)
	}
	store := t.TempDir()
	pullInto(t, store, src.String(), r.Keychain())

	out, errOut, code := run(t, nil, "--store", store, "image", "push", "--json", src.String(), r.Host+"/dst/app:2")
	if code != 0 {
		t.Fatalf("push: %d %s", code, errOut)
	}
	res := decodeResult(t, out)
	if res.Digest != want.String() {
		t.Errorf("push: %s, want %s", res.Digest, want)
	}
	for _, b := range res.Blobs {
		if b.Action != image.ActionPresent {
			t.Errorf("push to another repository of the registry: blob %s %s, want %s (mounted)", b.Digest, b.Action, image.ActionPresent)
		}
	}
	if !strings.Contains(errOut, "already there") {
		t.Errorf("push progress (plain lines, not a terminal) %q does not report skipped blobs", errOut)
	}

	dir := t.TempDir()
	out, errOut, code = run(t, nil, "--store", store, "image", "save", src.String(), "oci:"+dir+"/layout:app")
	if code != 0 || !strings.Contains(out, want.String()) {
		t.Fatalf("save oci: %d %q %s", code, out, errOut)
	}
	out, errOut, code = run(t, nil, "--store", store, "image", "save", "-q", src.String(), "docker-archive:"+dir+"/app.tar")
	if code != 0 || errOut != "" {
		t.Fatalf("save docker-archive: %d %q %q", code, out, errOut)
	}
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(dir + "/app.tar") })
	if err != nil || len(m) != 1 || len(m[0].RepoTags) != 1 || m[0].RepoTags[0] != src.String() {
		t.Errorf("archive manifest %+v (%v), want one image tagged %s", m, err, src)
	}
	out, errOut, code = run(t, nil, "image", "copy", "--json", "oci:"+dir+"/layout:app", r.Host+"/copied/app:3")
	if code != 0 {
		t.Fatalf("copy: %d %s", code, errOut)
	}
	if res := decodeResult(t, out); res.Digest != want.String() {
		t.Errorf("copy: %s, want %s", res.Digest, want)
	}

	// Without credentials the registry refuses, and the error says how to
	// give them.
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	_, errOut, code = run(t, nil, "--store", store, "image", "push", src.String(), r.Host+"/nologin/app:1")
	if code != 1 || !strings.Contains(errOut, "winlayer login -u USER --password-stdin "+r.Host) {
		t.Errorf("push without credentials: code %d, stderr %q, want the login hint", code, errOut)
	}

	// Wrong destinations are usage errors.
	for _, args := range [][]string{
		{"--store", store, "image", "push", src.String(), "oci:" + dir + "/x"},
		{"--store", store, "image", "save", src.String(), r.Host + "/x:1"},
		{"image", "copy", "--all-platforms", "--platform", "windows/amd64", "oci:" + dir + "/layout", "oci:" + dir + "/y"},
	} {
		if _, errOut, code := run(t, nil, args...); code != 2 {
			t.Errorf("%v: code %d, want 2 (%s)", args, code, errOut)
		}
	}
}

// TestImagePushForeignCLI pushes a stored image with a foreign base layer
// to distribution with its default validation: refused with both ways out
// named; --include-foreign goes through.
func TestImagePushForeignCLI(t *testing.T) {
	var base []byte
	blobs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(base) }))
	t.Cleanup(blobs.Close)
	img, b := winImage(t, 3, 2, blobs.URL+"/base.tar.gz")
	base = b
	r := registrytest.Distribution(t, registrytest.AllowManifestURLs(`^http://127\.0\.0\.1`))
	loginConfig(t, r)
	src := r.Ref(t, "src/foreign:1")
	if err := remote.Write(src, img, remote.WithAuthFromKeychain(r.Keychain())); err != nil {
		t.Fatal(err)
	}
	store := t.TempDir()
	pullInto(t, store, src.String(), r.Keychain())

	strict := registrytest.Distribution(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	if _, errOut, code := run(t, []byte(strict.Password), "login", "-u", strict.Username, "--password-stdin", strict.Host); code != 0 {
		t.Fatal(errOut)
	}
	_, errOut, code := run(t, nil, "--store", store, "image", "push", "-q", src.String(), strict.Host+"/dst/foreign:1")
	if code != 1 {
		t.Fatalf("push with a foreign layer to default validation: code %d, want 1 (%s)", code, errOut)
	}
	for _, s := range []string{"--include-foreign", "validation.manifests.urls.allow", "MANIFEST_BLOB_UNKNOWN"} {
		if !strings.Contains(errOut, s) {
			t.Errorf("error does not name %q: %s", s, errOut)
		}
	}
	out, errOut, code := run(t, nil, "--store", store, "image", "push", "--include-foreign", src.String(), strict.Host+"/dst/foreign:1")
	if code != 0 {
		t.Fatalf("push --include-foreign: %d %s", code, errOut)
	}
	want, _ := img.Digest()
	if !strings.Contains(out, "digest changed: the source was "+want.String()) || !strings.Contains(errOut, "digest changes") {
		t.Errorf("push --include-foreign does not say the digest changes: %q %q", out, errOut)
	}
}

// TestImagePushRecompressedCLI: an image pulled without keeping its blobs
// is pushed with its layers recompressed (--compression zstd), and push
// says that the digest changes; the pushed layers are zstd and their
// content (DiffIDs) is the original.
func TestImagePushRecompressedCLI(t *testing.T) {
	r := registrytest.InProcess(t)
	img, _ := winImage(t, 4, 2, "")
	want, _ := img.Digest()
	src := r.Ref(t, "src/app:1")
	if err := remote.Write(src, img); err != nil {
		t.Fatal(err)
	}
	store := t.TempDir()
	if _, errOut, code := run(t, nil, "--store", store, "image", "pull", "-q", "--no-keep-blobs", src.String()); code != 0 {
		t.Fatalf("pull --no-keep-blobs: %d %s", code, errOut)
	}
	out, errOut, code := run(t, nil, "--store", store, "image", "push", "--json", "--compression", "zstd", src.String(), r.Host+"/dst/app:1")
	if code != 0 {
		t.Fatalf("push: %d %s", code, errOut)
	}
	res := decodeResult(t, out)
	if res.Digest == want.String() || res.SourceDigest != want.String() {
		t.Errorf("digest %s (source %s): want a new digest, source %s", res.Digest, res.SourceDigest, want)
	}
	if !strings.Contains(errOut, "recompressed with zstd") || !strings.Contains(errOut, "digest changes") {
		t.Errorf("push does not say that it recompresses and the digest changes: %q", errOut)
	}
	got, err := remote.Image(r.Ref(t, "dst/app:1"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := got.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	wantCf, _ := img.ConfigFile()
	for i, l := range m.Layers {
		if l.MediaType != types.OCILayerZStd {
			t.Errorf("layer %d: %s, want zstd", i, l.MediaType)
		}
		gl, err := got.LayerByDigest(l.Digest)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := gl.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		h, _, err := v1.SHA256(rc)
		rc.Close()
		if err != nil || h != wantCf.RootFS.DiffIDs[i] {
			t.Errorf("layer %d: content %s (%v), want DiffID %s", i, h, err, wantCf.RootFS.DiffIDs[i])
		}
	}
}

// TestLoginCredentialHelper: with credsStore in config.json, login hands
// the credentials to docker-credential-NAME store, and the keychain reads
// them back through its get.
func TestLoginCredentialHelper(t *testing.T) {
	r := registrytest.Distribution(t)
	bin := t.TempDir()
	stored := filepath.Join(bin, "stored.json")
	script := "#!/bin/sh\ncase \"$1\" in\n" +
		"store) cat > " + stored + " ;;\n" +
		"get) cat " + stored + " ;;\n" +
		"*) exit 1 ;;\nesac\n"
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-wltest"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	cfgDir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", cfgDir)
	cfgPath := filepath.Join(cfgDir, "config.json")
	if err := os.WriteFile(cfgPath, []byte(`{"credsStore":"wltest"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, []byte(r.Password), "login", "-u", r.Username, "--password-stdin", r.Host)
	if code != 0 || !strings.Contains(out, "docker-credential-wltest") {
		t.Fatalf("login: %d %q %q", code, out, errOut)
	}
	var got map[string]string
	b, _ := os.ReadFile(stored)
	if err := json.Unmarshal(b, &got); err != nil || got["ServerURL"] != r.Host || got["Username"] != r.Username || got["Secret"] != r.Password {
		t.Fatalf("the helper got %q (%v)", b, err)
	}
	if b, _ := os.ReadFile(cfgPath); strings.Contains(string(b), r.Password) || strings.Contains(string(b), "auths") {
		t.Errorf("config.json holds the credentials although a helper is set: %s", b)
	}
	reg, _ := name.NewRegistry(r.Host)
	a, err := authn.DefaultKeychain.Resolve(reg)
	if err != nil {
		t.Fatal(err)
	}
	ac, err := a.Authorization()
	if err != nil || ac.Username != r.Username || ac.Password != r.Password {
		t.Errorf("keychain through the helper: %+v %v", ac, err)
	}
}
