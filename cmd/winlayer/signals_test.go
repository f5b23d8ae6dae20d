//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSecondSignal sends this process a signal, then another, through
// catchSignals: the first cancels the context (its cause names the
// signal) and the process would exit 128+first once the command failed;
// the second calls exit(128+second) at once, while the command is still
// cleaning up, saying so on stderr (written before exit is called, so
// reading it after exit's value arrived is no race).
func TestSecondSignal(t *testing.T) {
	for _, tc := range []struct {
		first, second syscall.Signal
		wantFirst     int
		wantSecond    int
	}{
		{syscall.SIGINT, syscall.SIGINT, 130, 130},
		{syscall.SIGTERM, syscall.SIGINT, 143, 130},
		{syscall.SIGINT, syscall.SIGTERM, 130, 143},
	} {
		t.Run(tc.first.String()+"+"+tc.second.String(), func(t *testing.T) {
			var stderr bytes.Buffer
			exited := make(chan int, 1)
			ctx, s := catchSignals(context.Background(), &stderr, func(code int) { exited <- code })
			defer s.exitCode(0)
			if err := syscall.Kill(os.Getpid(), tc.first); err != nil {
				t.Fatal(err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(2 * time.Second):
				t.Fatalf("context not cancelled 2 s after %v", tc.first)
			}
			if !errors.Is(ctx.Err(), context.Canceled) || !errors.Is(context.Cause(ctx), context.Canceled) ||
				!strings.Contains(context.Cause(ctx).Error(), tc.first.String()) {
				t.Errorf("after %v: err %v, cause %v", tc.first, ctx.Err(), context.Cause(ctx))
			}
			if got := s.received(); got != tc.first {
				t.Errorf("received %v, want %v", got, tc.first)
			}
			select {
			case code := <-exited:
				t.Fatalf("exit(%d) after the first signal", code)
			case <-time.After(50 * time.Millisecond):
			}
			if err := syscall.Kill(os.Getpid(), tc.second); err != nil {
				t.Fatal(err)
			}
			select {
			case code := <-exited:
				if code != tc.wantSecond {
					t.Errorf("second signal %v: exit(%d), want %d", tc.second, code, tc.wantSecond)
				}
			case <-time.After(2 * time.Second):
				t.Fatalf("no exit 2 s after the second signal %v", tc.second)
			}
			if !strings.Contains(stderr.String(), "again: exiting now") {
				t.Errorf("stderr after the second signal: %q", stderr.String())
			}
			if got := s.exitCode(1); got != tc.wantFirst {
				t.Errorf("exit status of a command a %v stopped: %d, want %d", tc.first, got, tc.wantFirst)
			}
		})
	}
}

// TestExitCodeWithoutSignal: with no signal, the command's own status is
// the process's; after a signal, a command that finished anyway exits 0.
func TestExitCodeWithoutSignal(t *testing.T) {
	for _, code := range []int{0, 1, 2} {
		_, s := catchSignals(context.Background(), io.Discard, func(int) { t.Error("exit called") })
		if got := s.exitCode(code); got != code {
			t.Errorf("exitCode(%d) without a signal = %d", code, got)
		}
	}
	ctx, s := catchSignals(context.Background(), io.Discard, func(int) { t.Error("exit called") })
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	<-ctx.Done()
	if got := s.exitCode(0); got != 0 {
		t.Errorf("a command that finished despite SIGINT: exit %d, want 0", got)
	}
}
