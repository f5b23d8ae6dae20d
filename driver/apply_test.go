//go:build linux

package driver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"testing"

	"github.com/winlayer/winlayer/layer"
	"github.com/winlayer/winlayer/layer/layertest"
	"github.com/winlayer/winlayer/wintar"
)

// nopMounter mounts nothing: for tests of driver logic that never reads a
// view (no privilege needed).
type nopMounter struct{}

func (nopMounter) Mount(ctx context.Context, v layer.View, target string) (string, error) {
	return "", errors.New("nopMounter: no views")
}
func (nopMounter) Unmount(ctx context.Context, id, target string) error { return nil }
func (nopMounter) FormatSandbox(ctx context.Context, image string, size int64) error {
	return ErrSizeLimitUnsupported
}
func (nopMounter) MountSandbox(ctx context.Context, sb layer.Sandbox) error   { return nil }
func (nopMounter) UnmountSandbox(ctx context.Context, sb layer.Sandbox) error { return nil }
func (nopMounter) GrowSandbox(ctx context.Context, sb layer.Sandbox, size int64) error {
	return ErrSizeLimitUnsupported
}

// TestApplyDiffErrorKinds: ApplyDiff's errors match the store's sentinels
// (errors.Is) and keep the message naming the entry, whether the import
// runs in the re-executed child or in-process; the layer is as before.
func TestApplyDiffErrorKinds(t *testing.T) {
	good := layertest.Tar(layertest.Dir("Files"), layertest.File("Files/a", []byte("a")))
	cases := []struct {
		name  string
		tar   []byte
		kinds []error
		text  string
	}{
		{"dotdot", layertest.Tar(layertest.Dir("Files"), layertest.File("Files/../x", []byte("x"))),
			[]error{layer.ErrInvalidEntry, wintar.ErrUnsafeName}, `"Files/../x"`},
		{"duplicate", layertest.Tar(layertest.Dir("Files"), layertest.File("Files/a", nil), layertest.File("Files/a", nil)),
			[]error{layer.ErrInvalidEntry}, `"Files/a"`},
		{"not a tar", []byte("just some text, not a tar at all\n"), []error{layer.ErrNotTar}, "not a tar"},
		{"truncated", good[:len(good)-1024], []error{layer.ErrTruncated}, "end-of-archive"},
	}
	for _, reexec := range []bool{true, false} {
		t.Run(fmt.Sprintf("reexec=%v", reexec), func(t *testing.T) {
			old := noReexec
			noReexec = !reexec
			defer func() { noReexec = old }()
			d, err := New(t.TempDir(), nil, WithMounter(nopMounter{}))
			must(t, err)
			must(t, d.Create("l", "", nil))
			if _, err := d.ApplyDiff("l", "", bytes.NewReader(good)); err != nil {
				t.Fatal(err)
			}
			for _, tc := range cases {
				_, err := d.ApplyDiff("l", "", bytes.NewReader(tc.tar))
				if err == nil {
					t.Errorf("%s: no error", tc.name)
					continue
				}
				for _, k := range tc.kinds {
					if !errors.Is(err, k) {
						t.Errorf("%s: %v does not match %v", tc.name, err, k)
					}
				}
				if errors.Is(err, layer.ErrExists) || errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s: %v matches kinds it should not", tc.name, err)
				}
				if !strings.Contains(err.Error(), tc.text) || !strings.HasPrefix(err.Error(), "apply diff l: ") {
					t.Errorf("%s: message %q lacks %q or the layer", tc.name, err, tc.text)
				}
			}
			if m, err := d.store.Meta(context.Background(), "l"); err != nil || m.Size != 1 {
				t.Fatalf("after refused diffs the layer changed: %+v %v", m, err)
			}
			// A child that dies without reporting is still an error.
			if _, err := d.ApplyDiff("nope/..", "", bytes.NewReader(good)); err == nil {
				t.Error("ApplyDiff of an invalid id: no error")
			}
		})
	}
}

// TestChildErrorRoundTrip: every sentinel survives the JSON line the
// child writes; other lines on stderr (a panic, a log) are skipped.
func TestChildErrorRoundTrip(t *testing.T) {
	for name, sentinel := range errorKinds {
		err := fmt.Errorf("import x: entry 3 %q: %w", "Files/y", sentinel)
		line := encodeChildError(err)
		got := decodeChildError("some log line\n" + string(line))
		if got == nil || got.Error() != err.Error() {
			t.Fatalf("%s: decoded %v, want %v", name, got, err)
		}
		if !errors.Is(got, sentinel) {
			t.Errorf("%s: decoded error does not match its sentinel", name)
		}
	}
	if decodeChildError("panic: boom\ngoroutine 1 [running]:\n") != nil {
		t.Error("a child that did not report decoded as an error")
	}
}

// TestDriverLogger: the driver's warnings go to WithLogger's logger
// (Remove of a layer other layers name).
func TestDriverLogger(t *testing.T) {
	var buf bytes.Buffer
	d, err := New(t.TempDir(), nil, WithMounter(nopMounter{}), WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	must(t, err)
	must(t, d.Create("base", "", nil))
	must(t, d.Create("child", "base", nil))
	must(t, d.Remove("base"))
	if !strings.Contains(buf.String(), "dependants") || !strings.Contains(buf.String(), "child") {
		t.Fatalf("no warning through WithLogger: %q", buf.String())
	}
}
