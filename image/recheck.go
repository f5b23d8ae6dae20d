package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// recheckBlob reads the blob of a layer whose import failed once more,
// whole, and returns an ErrDigestMismatch error when it does not hash to
// the manifest's digest. A pull reads a blob in one pass and meets a
// damaged blob's decompression or tar error before the end, where the
// digest is checked; the digest is the cause to report. It returns nil
// when the blob matches, has no digest to check, or cannot be read again
// (the first error then stands).
func recheckBlob(ctx context.Context, j *job) error {
	if j.want.Hex == "" || j.desc.Size <= 0 || j.open == nil {
		return nil
	}
	rc, err := j.open(ctx, j.desc)
	if err != nil {
		return nil
	}
	defer rc.Close()
	h := sha256.New()
	// One byte past the descriptor's size tells a longer blob; no more is
	// read of a source that sends without end.
	n, err := io.Copy(h, io.LimitReader(rc, j.desc.Size+1))
	if err != nil {
		return nil
	}
	got := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
	if n == j.desc.Size && got == j.want {
		return nil
	}
	return fmt.Errorf("%w: the blob hashes to %s (%d bytes), the manifest says %s (%d bytes)", ErrDigestMismatch, got, n, j.want, j.desc.Size)
}
