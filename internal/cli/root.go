// Package cli holds the winlayer command tree: one file per verb, each a
// thin layer over the library packages that do the work.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/winlayer/winlayer/image"
)

// options are the global flags and the process's standard streams.
type options struct {
	store  string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// errSilent marks an error that the command already reported (for
// example as an error record) and that only sets the exit status.
var errSilent = errors.New("already reported")

// Main runs the winlayer command line with args and returns the exit
// status: 0 on success, 1 on failure, 2 on a usage error.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o := &options{stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRootCmd(o)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	err = registryErrorText(err)
	err = withNoRegistryHint(err)
	if errors.Is(err, image.ErrNoImage) {
		// A stored image is named by its full reference ("app" is
		// docker.io/library/app:latest): show where the names are.
		err = fmt.Errorf("%w (a NAME is a reference as pulled or tagged, in full, or a manifest digest or 12+ of its hex digits; 'winlayer image ls' lists them)", err)
	}
	if strings.HasPrefix(err.Error(), "unknown command ") {
		// cobra's error for a mistyped command name: a usage error.
		err = usageError{err}
	}
	if !errors.Is(err, errSilent) {
		fmt.Fprintf(stderr, "winlayer: %v\n", err)
	}
	if cmd != nil && isUsageError(err) {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return 2
	}
	return 1
}

type usageError struct{ error }

func isUsageError(err error) bool {
	var u usageError
	return errors.As(err, &u)
}

func newRootCmd(o *options) *cobra.Command {
	root := &cobra.Command{
		Use:   "winlayer",
		Short: "Windows container layers on any OS: import, export, inspect, verify",
		Long: `winlayer reads and writes Windows container image layers — the tars under
Files/, Hives/ and UtilityVM/ with Windows metadata in PAX records — byte for
byte as Docker and hcsshim do on Windows, but on Linux or any other OS.

Commands that work on a layer store take --store DIR (see their --help).
Data goes to standard output; errors and progress go to standard error.
Exit status: 0 on success, 1 on a failure, 2 on a usage error, and 128+signal
when Ctrl-C (130) or SIGTERM (143) stopped the command; a second Ctrl-C while
it cleans up exits at once.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
	}
	root.SetVersionTemplate("winlayer {{.Version}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		if strings.Contains(err.Error(), "unknown flag: --store") && c.Flags().Lookup("store") == nil &&
			(!c.HasSubCommands() || storeless[verbPath(c)]) {
			return usageError{fmt.Errorf("'%s' uses no layer store: leave --store out", c.CommandPath())}
		}
		return usageError{err}
	})
	root.AddCommand(newRecordsCmd(o), newImportCmd(o), newExportCmd(o), newLsCmd(o), newInspectCmd(o),
		newRmCmd(o), newCleanupCmd(o), newCheckCmd(o), newVerifyCmd(o), newImageCmd(o), newLoginCmd(o))
	addStoreFlags(root, o)
	return root
}
