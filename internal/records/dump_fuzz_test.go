package records

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/winlayer/winlayer/wintar"
)

// FuzzDump feeds arbitrary bytes to Dump (what `records dump` reads from
// the user), as go-winio would take them and with the store's strict
// names: never a panic; every line written is a record, numbered in
// order, the last one an end record on success or an error record whose
// failure Dump returns as a *wintar.EntryError; what Dump writes, Build
// reads without a panic, failing only with a *BuildError.
func FuzzDump(f *testing.F) {
	tars, err := filepath.Glob(filepath.Join(testdata, "errors", "*.tar"))
	if err != nil {
		f.Fatal(err)
	}
	tars = append(tars, filepath.Join(testdata, "sample.tar"), filepath.Join(testdata, "sample.rebuilt.tar"))
	for _, p := range tars {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
		f.Add(b, true)
	}
	f.Fuzz(func(t *testing.T, in []byte, strict bool) {
		var out bytes.Buffer
		err := Dump(context.Background(), bytes.NewReader(in), &out, DumpOptions{Strict: strict, Hex: strict})
		var ee *wintar.EntryError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("Dump: %v (%T) is not a *wintar.EntryError", err, err)
		}
		var last Record
		n := 0
		sc := bufio.NewScanner(bytes.NewReader(out.Bytes()))
		sc.Buffer(nil, 1<<30)
		for ; sc.Scan(); n++ {
			last = Record{}
			if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
				t.Fatalf("line %d is no record: %v", n+1, err)
			}
			if last.Seq != n {
				t.Fatalf("line %d has seq %d", n+1, last.Seq)
			}
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		switch {
		case n == 0:
			t.Fatalf("Dump wrote no record (error %v)", err)
		case err == nil && last.Op != OpEnd:
			t.Fatalf("Dump succeeded, last record %q", last.Op)
		case err != nil && last.Op != OpError:
			t.Fatalf("Dump failed (%v), last record %q", err, last.Op)
		}
		var be *BuildError
		if berr := Build(bytes.NewReader(out.Bytes()), new(bytes.Buffer), BuildOptions{}); berr != nil && !errors.As(berr, &be) {
			t.Fatalf("Build of a dump: %v is not a *BuildError", berr)
		}
	})
}
