package layer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
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
			// The WriterTo path (io.Copy into a file) gives the same bytes.
			rc, err := s.Export(context.Background(), "l1")
			if err != nil {
				t.Fatal(err)
			}
			var direct bytes.Buffer
			if _, err := io.Copy(&direct, rc); err != nil || !bytes.Equal(direct.Bytes(), in) {
				t.Fatalf("export through WriteTo: %v, equal %v", err, bytes.Equal(direct.Bytes(), in))
			}
			rc.Close()
			// Closing an export that was never read releases it.
			rc, err = s.Export(context.Background(), "l1")
			if err != nil || rc.Close() != nil {
				t.Fatalf("close unread export: %v", err)
			}
			t.Logf("%s: import sha256 %s, export sha256 %s", name, sha(in), sha(out))
			if !bytes.Equal(in, out) {
				t.Fatalf("export differs: %d bytes, want %d", len(out), len(in))
			}
		})
	}
}

// TestExportDetectsChangedFiles: a payload changed on disk after import
// fails the export with an error naming it, instead of a wrong tar.
func TestExportDetectsChangedFiles(t *testing.T) {
	in, err := os.ReadFile(filepath.Join(testdata, "sample.rebuilt.tar"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ file, content string }{
		{"Files/hello.txt", "hello, windows layeR\r\n"}, // same size, other bytes
		{"Files/hello.txt", "short"},                    // truncated
	} {
		s, err := Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Import(context.Background(), "l", nil, bytes.NewReader(in)); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(s.Dir("l"), tc.file), []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		rc, err := s.Export(context.Background(), "l")
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.ReadAll(rc)
		rc.Close()
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.file) {
			t.Errorf("export after changing %s to %q: %v, want ErrCorrupt naming it", tc.file, tc.content, err)
		}
	}
}
