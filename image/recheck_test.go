package image

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/winlayer/winlayer/layer"
)

// TestPullDamagedBlobNamesDigest: a layer blob of an OCI layout with one
// byte changed fails in gzip before its end, where the one-pass pull
// checks the digest; the error is ErrDigestMismatch naming both digests
// (it was "gzip stream: flate: corrupt input before offset 110"), and the
// store has no image.
func TestPullDamagedBlobNamesDigest(t *testing.T) {
	const blob = "3160f00dd77881ed4fec6c2f79c4e69e2ff1c7ad15466bf3e207441c20973396"
	dir := filepath.Join(t.TempDir(), "layout")
	if err := os.CopyFS(dir, os.DirFS("../testdata/image")); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "blobs", "sha256", blob)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[100] ^= 0x5a
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ls, err := layer.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := OpenStore(ls)
	plat, err := ParsePlatform("windows/amd64:10.0.20348")
	if err != nil {
		t.Fatal(err)
	}
	loc, err := ParseLocation("oci:" + dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Pull(context.Background(), loc, Config{}, PullOptions{Platform: plat, Explicit: true})
	if !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), "the manifest says sha256:"+blob) {
		t.Fatalf("pull of a damaged blob: %v; want ErrDigestMismatch naming sha256:%s", err, blob)
	}
	if imgs, _ := s.Images(); len(imgs) != 0 {
		t.Errorf("a failed pull left %d images", len(imgs))
	}
}
