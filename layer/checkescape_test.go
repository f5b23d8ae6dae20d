package layer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/winlayer/winlayer/layer/layertest"
)

// TestCheckIndexNamesStayInLayer: an index damaged to name a file outside
// the layer — through "..", as an absolute path, through a symlink of the
// layer, or as a BCD backup — is reported on that entry; Check never
// looks the name up outside the layer (where a file of the recorded size
// would have passed), found while writing FuzzLayerIndex.
func TestCheckIndexNamesStayInLayer(t *testing.T) {
	top := t.TempDir()
	outside := filepath.Join(top, "outside")
	mustDo(t, os.Mkdir(outside, 0o755))
	secret := filepath.Join(outside, "secret")
	mustDo(t, os.WriteFile(secret, []byte("secret"), 0o644))
	cases := []struct {
		name, line string
	}{
		{"dot-dot", `{"name":"Files/../../../outside/secret","kind":"file","size":6}`},
		{"absolute", fmt.Sprintf(`{"name":%q,"kind":"file","size":6}`, filepath.ToSlash(secret))},
		{"through a symlink", `{"name":"Files/l/secret","kind":"file","size":6}`},
		{"BCD backup", `{"name":"UtilityVM/Files/EFI/Microsoft/Boot/BCD","kind":"file","size":6,"bcd_backup":"../../outside/secret"}`},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(filepath.Join(top, fmt.Sprint("store", i)))
			mustDo(t, err)
			tb := layertest.Tar(layertest.Dir("Files"), layertest.File("Files/a.txt", []byte("hello")))
			_, err = s.Import(context.Background(), "l", nil, bytes.NewReader(tb))
			mustDo(t, err)
			mustDo(t, os.Symlink(outside, filepath.Join(s.Dir("l"), "Files", "l")))
			f, err := os.OpenFile(filepath.Join(s.Dir("l"), metaDir, indexFile), os.O_WRONLY|os.O_APPEND, 0)
			mustDo(t, err)
			_, err = f.WriteString(tc.line + "\n")
			mustDo(t, err)
			mustDo(t, f.Close())
			var e Entry
			mustDo(t, json.Unmarshal([]byte(tc.line), &e))
			r, err := s.Check(context.Background(), "l", CheckOptions{Fast: true})
			mustDo(t, err)
			for _, p := range r.Problems {
				if p.Entry == e.Name && strings.Contains(p.Problem, "path escapes from parent") {
					return
				}
			}
			t.Fatalf("no problem reported on %q saying it leaves the layer: %+v", e.Name, r.Problems)
		})
	}
}
