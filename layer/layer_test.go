package layer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"testing"
)

const testdata = "../testdata"

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func exportAll(t *testing.T, s *Store, id string) []byte {
	t.Helper()
	rc, err := s.Export(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("export %s: %v", id, err)
	}
	return b
}

// TestRoundTripSample: import then export of the golden tars gives the
// same bytes (the same DiffID).
func TestRoundTripSample(t *testing.T) {
	for _, name := range []string{"sample.rebuilt.tar", "sample.tar"} {
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join(testdata, name))
			if err != nil {
				t.Fatal(err)
			}
			s, err := Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			size, err := s.Import(context.Background(), "l1", nil, bytes.NewReader(in))
			if err != nil {
				t.Fatal(err)
			}
			if size != 99 {
				t.Errorf("size %d, want 99", size)
			}
			out := exportAll(t, s, "l1")
			t.Logf("%s: import sha256 %s, export sha256 %s", name, sha(in), sha(out))
			if !bytes.Equal(in, out) {
				t.Fatalf("export differs: %d bytes, want %d", len(out), len(in))
			}
		})
	}
}
