package layer

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/winlayer/winlayer/layer/layertest"
)

// TestCaseCollisions: names collide as NTFS compares them (its upper-case
// table), and the refusal shows both spellings.
func TestCaseCollisions(t *testing.T) {
	data := layertest.Bytes(1, 3<<20) // large enough to go to disk asynchronously
	for _, tc := range []struct {
		first, second string
		dir           bool
		collide       bool
	}{
		{"Files/a.txt", "Files/A.txt", false, true},
		{"Files/σ", "Files/ς", false, true},
		{"Files/ς", "Files/Σ", false, true},
		{"Files/d", "Files/D", true, true},
		{"Files/k", "Files/\u212a", false, false}, // KELVIN SIGN
		{"Files/K", "Files/\u212a", false, false},
		{"Files/ß", "Files/ẞ", false, false},
		{"Files/straße", "Files/STRASSE", false, false},
	} {
		entry := func(n string) layertest.Entry {
			if tc.dir {
				return layertest.Dir(n)
			}
			return layertest.File(n, data)
		}
		in := layertest.Tar(layertest.Dir("Files"), entry(tc.first), entry(tc.second))
		s, err := Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Import(context.Background(), "l", nil, bytes.NewReader(in))
		if !tc.collide {
			if err != nil {
				t.Errorf("%q then %q: %v, want both imported (they differ on NTFS)", tc.first, tc.second, err)
			}
			continue
		}
		want := `"` + tc.second + `": differs only in case from "` + tc.first + `", added earlier`
		if !errors.Is(err, ErrInvalidEntry) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q then %q: %v, want an error containing %s", tc.first, tc.second, err, want)
		}
	}
}
