package driver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/winlayer/winlayer/layer"
)

// reexecName is argv[0] of the ApplyDiff child, moby's name for it.
const reexecName = "docker-windows-write-layer"

// noReexec is WINLAYER_NOREEXEC: import in-process (debugging).
var noReexec = os.Getenv("WINLAYER_NOREEXEC") != ""

// ReexecInit runs the ApplyDiff child when this process is one (argv[0]
// is "docker-windows-write-layer"): it imports the tar on standard input
// as layer <id> of store <home> with the given parents, writes the size in
// decimal to standard output, or the error to standard error as one JSON
// line (its message and the names of the sentinel errors it matches, so
// that the parent's error matches them too), and exits.
// In any other process it returns false at once. Programs embedding the
// driver call it first in main (tests: in TestMain).
func ReexecInit() bool {
	if filepath.Base(os.Args[0]) != reexecName {
		return false
	}
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: docker-windows-write-layer HOME ID [PARENT]...")
		os.Exit(2)
	}
	home, id, parents := os.Args[1], os.Args[2], os.Args[3:]
	size, err := applyInline(home, id, parents, os.Stdin)
	if err != nil {
		os.Stderr.Write(encodeChildError(err))
		os.Exit(1)
	}
	fmt.Fprint(os.Stdout, size)
	os.Exit(0)
	return true
}

func applyInline(home, id string, parents []string, r io.Reader) (int64, error) {
	s, err := layer.Open(home, layer.WithoutCleanup())
	if err != nil {
		return 0, err
	}
	return s.ReplaceImport(context.Background(), id, parents, r)
}

// ApplyDiff imports the Windows layer tar diff as the content of layer id
// (made with Create) on parent, and returns the sum of its regular files'
// sizes. With parent "" a layer created with a parent keeps its chain.
// The import runs in a re-executed child unless WINLAYER_NOREEXEC is set;
// it is atomic: on error the layer is as before.
func (d *Driver) ApplyDiff(id, parent string, diff io.Reader) (int64, error) {
	defer d.lock(id)()
	d.mu.Lock()
	_, mounted := d.mounts[id]
	d.mu.Unlock()
	if mounted {
		return 0, fmt.Errorf("apply diff %s: %w", id, layer.ErrInUse)
	}
	var chain []string
	var err error
	if parent != "" {
		if chain, err = d.chainFor(parent); err != nil {
			return 0, fmt.Errorf("apply diff %s: %w", id, err)
		}
	} else if d.store.Exists(id) {
		if chain, err = layer.ReadChain(d.dir(id)); err != nil {
			return 0, fmt.Errorf("apply diff %s: %w", id, err)
		}
	}
	defer d.forget(id)
	if noReexec || runtime.GOOS == "windows" {
		size, err := d.importLayer(id, chain, diff)
		if err != nil {
			return 0, fmt.Errorf("apply diff %s: %w", id, err)
		}
		return size, nil
	}
	cmd := &exec.Cmd{Path: "/proc/self/exe", Args: append([]string{reexecName, d.home, id}, chain...)}
	if _, err := os.Stat(cmd.Path); err != nil {
		exe, err := os.Executable()
		if err != nil {
			return 0, err
		}
		cmd.Path = exe
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = diff, &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if cerr := decodeChildError(stderr.String()); cerr != nil {
			return 0, fmt.Errorf("apply diff %s: %w", id, cerr)
		}
		return 0, fmt.Errorf("apply diff %s: re-exec child: %w: %s", id, err, strings.TrimSpace(stderr.String()))
	}
	size, err := strconv.ParseInt(strings.TrimSpace(stdout.String()), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("apply diff %s: child printed %q: %w", id, stdout.String(), err)
	}
	return size, nil
}
