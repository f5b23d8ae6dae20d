package layer

import (
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"
)

// TestDecodeChain: what ReadChain and the store's own reads make of a
// layerchain.json file and the error reading it gave.
func TestDecodeChain(t *testing.T) {
	perm := &fs.PathError{Op: "open", Path: "x/layerchain.json", Err: fs.ErrPermission}
	for _, tc := range []struct {
		name     string
		b        string
		err      error
		want     []string
		wantErr  error
		wantText string
	}{
		{name: "missing", err: &fs.PathError{Op: "open", Path: "x/layerchain.json", Err: fs.ErrNotExist}},
		{name: "null", b: "null"},
		{name: "chain", b: `["/s/b","/s/a"]`, want: []string{"/s/b", "/s/a"}},
		{name: "not JSON", b: "[", wantErr: ErrCorrupt, wantText: "unmarshal layerchain JSON"},
		{name: "unreadable", err: perm, wantErr: fs.ErrPermission, wantText: "chmod 644 it"},
		{name: "other error", err: errors.New("i/o error"), wantText: "read layerchain file: i/o error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeChain([]byte(tc.b), tc.err)
			if tc.wantText == "" {
				if err != nil || !slices.Equal(got, tc.want) {
					t.Errorf("decodeChain = %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantText) || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Errorf("decodeChain error %v; want one saying %q (and wrapping %v)", err, tc.wantText, tc.wantErr)
			}
		})
	}
}
