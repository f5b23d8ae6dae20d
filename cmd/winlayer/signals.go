package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// signals is the command's handling of SIGINT (Ctrl-C) and SIGTERM. The
// first one cancels the command's context: the command stops, cleans up
// (an import removes its staging directory, an export -o its temporary
// file) and reports what was cancelled; the process then exits 128+signal
// as shells do (130 for SIGINT, 143 for SIGTERM). A second signal, while
// that cleanup runs, exits at once with 128+signal, as docker and crane
// do: the store stays consistent (a layer or an image record is committed
// by one rename, or not at all), and what the interrupted command had not
// removed yet is removed by the next command that writes the store, or by
// `winlayer cleanup`.
type signals struct {
	ch   chan os.Signal
	done chan struct{}
	stop sync.Once

	mu    sync.Mutex
	first os.Signal // the signal that cancelled the context, if one did
}

// catchSignals returns a context that the first SIGINT or SIGTERM
// cancels; a second one writes a line to stderr and calls exit(128+signal)
// at once (exit is os.Exit but in tests).
func catchSignals(parent context.Context, stderr io.Writer, exit func(int)) (context.Context, *signals) {
	ctx, cancel := context.WithCancelCause(parent)
	s := &signals{ch: make(chan os.Signal, 2), done: make(chan struct{})}
	signal.Notify(s.ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		var first os.Signal
		select {
		case first = <-s.ch:
		case <-s.done:
			return
		}
		s.mu.Lock()
		s.first = first
		s.mu.Unlock()
		cancel(fmt.Errorf("%v: %w", first, context.Canceled))
		select {
		case again := <-s.ch:
			fmt.Fprintf(stderr, "winlayer: %v again: exiting now, without waiting for the cleanup ('winlayer cleanup' removes what an interrupted import left)\n", again)
			exit(signalExitCode(again))
		case <-s.done:
		}
	}()
	return ctx, s
}

// exitCode is the process's exit status for the command's status code:
// 128+signal when a signal cancelled a command that then failed (it
// stopped because of the signal), code otherwise (0 when the command
// finished anyway). It stops the signal handling: a signal after it gets
// the default action.
func (s *signals) exitCode(code int) int {
	s.stop.Do(func() {
		signal.Stop(s.ch)
		close(s.done)
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if code != 0 && s.first != nil {
		return signalExitCode(s.first)
	}
	return code
}

// received is the signal that cancelled the context, or nil.
func (s *signals) received() os.Signal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first
}

// signalExitCode is a shell's status for a process ended by sig: 128 plus
// the signal's number.
func signalExitCode(sig os.Signal) int {
	if n, ok := sig.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 128 + int(syscall.SIGINT)
}
