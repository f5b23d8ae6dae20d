package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestWriteBlobDamaged: a blob whose bytes do not hash to its descriptor
// is refused with ErrDigestMismatch naming both digests (the message said
// "got 4054 bytes with sha256:…, want 4054 bytes"), and leaves no file.
func TestWriteBlobDamaged(t *testing.T) {
	dir := t.TempDir()
	good := []byte("the blob as it was written")
	sum := sha256.Sum256(good)
	d := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	bad := append([]byte(nil), good...)
	bad[3] ^= 1
	err := writeBlob(context.Background(), dir, d, int64(len(good)), io.NopCloser(strings.NewReader(string(bad))))
	if !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("writeBlob of a damaged blob: %v, want ErrDigestMismatch", err)
	}
	badSum := sha256.Sum256(bad)
	for _, want := range []string{d.String(), "sha256:" + hex.EncodeToString(badSum[:]), "descriptor says"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if _, err := os.Stat(blobPath(dir, d)); !os.IsNotExist(err) {
		t.Errorf("the damaged blob was written: %v", err)
	}
}
