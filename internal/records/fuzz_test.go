package records

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzBuild feeds arbitrary record files to Build: never a panic, and any
// failure is a *BuildError naming the record.
func FuzzBuild(f *testing.F) {
	for _, name := range []string{"sample.dump.jsonl", "errors/sparse-seek-back.jsonl", "errors/bad-ea-buffer.jsonl", "errors/truncated-stream.jsonl"} {
		b, err := os.ReadFile(filepath.Join(testdata, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var out bytes.Buffer
		err := Build(bytes.NewReader(b), &out, BuildOptions{})
		var be *BuildError
		if err != nil && !errors.As(err, &be) {
			t.Fatalf("error %v is not a *BuildError", err)
		}
	})
}
