package layer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/winlayer/winlayer/backupstream"
)

// countdownCtx is a context whose Err is nil for its first n calls and
// context.Canceled after: it cancels an operation at every possible
// check in turn.
type countdownCtx struct {
	context.Context
	n atomic.Int64
}

func newCountdown(n int64) *countdownCtx {
	c := &countdownCtx{Context: context.Background()}
	c.n.Store(n)
	return c
}

func (c *countdownCtx) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

// writeFlatLayer builds layer id through a Writer: Files with n empty
// files.
func writeFlatLayer(t *testing.T, s *Store, id string, n int) {
	t.Helper()
	w, err := s.NewWriter(context.Background(), id, nil)
	mustDo(t, err)
	mustDo(t, w.Add(`Files`, &backupstream.FileBasicInfo{FileAttributes: backupstream.AttrDirectory}))
	for i := range n {
		mustDo(t, w.Add(fmt.Sprintf(`Files\f%03d`, i), &backupstream.FileBasicInfo{FileAttributes: backupstream.AttrArchive}))
	}
	mustDo(t, w.Close())
}

// TestRemoveCancel cancels Remove at each of its checks in turn: it
// returns ctx's error and leaves the layer whole (all its files) or gone
// (the rest in <id>-removing, which Cleanup deletes) — never half a
// layer under its id. Cancelling while deleting must happen at least
// once, so the deletion of a large tree is seen to check between entries.
func TestRemoveCancel(t *testing.T) {
	const files = 40
	s, err := Open(t.TempDir())
	mustDo(t, err)
	midDelete := 0
	for n := int64(0); ; n++ {
		writeFlatLayer(t, s, "big", files)
		err := s.Remove(newCountdown(n), "big")
		if err == nil {
			if s.Exists("big") {
				t.Fatal("Remove returned nil and the layer is still there")
			}
			break
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancel after %d checks: %v, want context.Canceled", n, err)
		}
		if s.Exists("big") {
			des, err := os.ReadDir(filepath.Join(s.Dir("big"), "Files"))
			mustDo(t, err)
			if len(des) != files {
				t.Fatalf("cancel after %d checks: the layer is there with %d of its %d files", n, len(des), files)
			}
			if _, err := os.Lstat(s.Dir("big") + removingSuffix); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("cancel after %d checks: layer kept and a -removing directory: %v", n, err)
			}
			mustDo(t, s.Remove(context.Background(), "big"))
			continue
		}
		if _, err := os.Lstat(s.Dir("big") + removingSuffix); err != nil {
			t.Fatalf("cancel after %d checks: the layer is gone, but nothing left for Cleanup: %v", n, err)
		}
		midDelete++
		mustDo(t, s.Cleanup(context.Background()))
		if _, err := os.Lstat(s.Dir("big") + removingSuffix); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("cancel after %d checks: Cleanup left the -removing directory: %v", n, err)
		}
		if n > 10*files {
			t.Fatalf("Remove still cancelled after %d checks", n)
		}
	}
	if midDelete < files/2 {
		t.Errorf("cancelled while deleting %d times, want at least %d (one check per entry)", midDelete, files/2)
	}
}

// TestCtxCancelled: with ctx already cancelled every store method that
// does I/O fails with ctx's error and changes nothing; a Writer and a
// Reader stop at their next entry once their ctx is done.
func TestCtxCancelled(t *testing.T) {
	s, err := Open(t.TempDir())
	mustDo(t, err)
	writeFlatLayer(t, s, "a", 3)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := map[string]func() error{
		"Create":      func() error { return s.Create(ctx, "new", nil) },
		"NewWriter":   func() error { _, err := s.NewWriter(ctx, "new", nil); return err },
		"NewReader":   func() error { _, err := s.NewReader(ctx, "a"); return err },
		"List":        func() error { _, err := s.List(ctx); return err },
		"LayerIDs":    func() error { _, err := s.LayerIDs(ctx); return err },
		"ResolveID":   func() error { _, err := s.ResolveID(ctx, "a"); return err },
		"Remove":      func() error { return s.Remove(ctx, "a") },
		"RemoveForce": func() error { _, err := s.RemoveForce(ctx, "a"); return err },
		"Cleanup":     func() error { return s.Cleanup(ctx) },
		"Meta":        func() error { _, err := s.Meta(ctx, "a"); return err },
		"Entries":     func() error { _, _, err := s.Entries(ctx, "a"); return err },
		"View":        func() error { _, err := s.View(ctx, "a"); return err },
		"Dependants":  func() error { _, err := s.Dependants(ctx, "a"); return err },
		"ResolveChain": func() error {
			_, err := s.ResolveChain(ctx, "a")
			return err
		},
		"Check":  func() error { _, err := s.Check(ctx, "a", CheckOptions{}); return err },
		"Export": func() error { _, err := s.Export(ctx, "a"); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled ctx: %v, want context.Canceled", name, err)
		}
	}
	if !s.Exists("a") || s.Exists("new") {
		t.Error("a call with a cancelled ctx changed the store")
	}

	// A Writer whose ctx is cancelled midway refuses the next entry and
	// Close discards the layer.
	wctx, wcancel := context.WithCancel(context.Background())
	w, err := s.NewWriter(wctx, "w", nil)
	mustDo(t, err)
	mustDo(t, w.Add(`Files`, &backupstream.FileBasicInfo{FileAttributes: backupstream.AttrDirectory}))
	wcancel()
	if err := w.Add(`Files\x`, &backupstream.FileBasicInfo{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Add after cancel: %v, want context.Canceled", err)
	}
	if err := w.Close(); !errors.Is(err, context.Canceled) {
		t.Errorf("Close after cancel: %v, want context.Canceled", err)
	}
	if s.Exists("w") {
		t.Error("a cancelled Writer committed its layer")
	}

	// A Reader stops at the next entry.
	rctx, rcancel := context.WithCancel(context.Background())
	r, err := s.NewReader(rctx, "a")
	mustDo(t, err)
	defer r.Close()
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	rcancel()
	if _, err := r.Next(); !errors.Is(err, context.Canceled) {
		t.Errorf("Next after cancel: %v, want context.Canceled", err)
	}
}
