package layer

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/winlayer/winlayer/layer/layertest"
)

// TestCommitErrorContract makes the commit fail (as an I/O error would)
// at each step of it, for a new layer (rename) and a replaced one
// (exchange), and checks the contract of Writer.Close: before the rename
// the error is not ErrCommittedNotDurable and the store is as before;
// after it the layer is committed (it exports to the imported bytes) and
// the only error is ErrCommittedNotDurable, with the size returned; and in
// every case the staging lock is released (.staging is empty, a new
// import and Cleanup work).
func TestCommitErrorContract(t *testing.T) {
	in := layertest.Mixed()
	old, err := os.ReadFile(filepath.Join(testdata, "sample.rebuilt.tar"))
	mustDo(t, err)
	cases := []struct {
		point     string
		replace   bool
		committed bool
	}{
		{"", false, true},
		{"writer:before-sync", false, false},
		{"writer:before-rename", false, false},
		{"writer:after-rename", false, true},
		{"", true, true},
		{"writer:before-sync", true, false},
		{"writer:before-rename", true, false},
		{"writer:after-exchange", true, true},
	}
	for _, tc := range cases {
		name := tc.point
		if name == "" {
			name = "no fault"
		}
		if tc.replace {
			name += " (replace)"
		}
		t.Run(name, func(t *testing.T) {
			s, err := Open(t.TempDir())
			mustDo(t, err)
			if tc.replace {
				_, err := s.Import(context.Background(), "l", nil, bytes.NewReader(old))
				mustDo(t, err)
			}
			injected := &os.PathError{Op: "fsync", Path: s.Home(), Err: syscall.EIO}
			hook := func(where string) error {
				if where == tc.point {
					return injected
				}
				return nil
			}
			faultErrHook.Store(&hook)
			var size int64
			if tc.replace {
				size, err = s.ReplaceImport(context.Background(), "l", nil, bytes.NewReader(in))
			} else {
				size, err = s.Import(context.Background(), "l", nil, bytes.NewReader(in))
			}
			faultErrHook.Store(nil)
			t.Logf("size %d, err %v", size, err)
			switch {
			case tc.point == "":
				if err != nil {
					t.Fatalf("commit without a fault: %v", err)
				}
			case tc.committed:
				if !errors.Is(err, ErrCommittedNotDurable) || !errors.Is(err, syscall.EIO) || size == 0 {
					t.Errorf("fault after the rename: size %d, %v; want the size and ErrCommittedNotDurable wrapping the cause", size, err)
				}
			default:
				if err == nil || errors.Is(err, ErrCommittedNotDurable) || !errors.Is(err, syscall.EIO) {
					t.Errorf("fault before the rename: %v; want the cause, not ErrCommittedNotDurable", err)
				}
			}
			want := in
			if !tc.committed {
				want = nil
				if tc.replace {
					want = old
				}
			}
			if want == nil {
				if s.Exists("l") {
					t.Error("a commit that failed before its rename left the layer")
				}
			} else if got := exportAll(t, s, "l"); !bytes.Equal(got, want) {
				t.Errorf("layer l exports %d bytes, not the expected %d", len(got), len(want))
			}
			des, err := os.ReadDir(filepath.Join(s.Home(), stagingDir))
			mustDo(t, err)
			for _, de := range des {
				t.Errorf("left in .staging: %s (the lock was not released or the stage not removed)", de.Name())
			}
			mustDo(t, s.Cleanup(context.Background()))
			if _, err := s.Import(context.Background(), "next", nil, bytes.NewReader(old)); err != nil {
				t.Errorf("import after: %v", err)
			}
		})
	}
}
