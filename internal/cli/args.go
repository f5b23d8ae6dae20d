package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// exactArgs checks that a command got n arguments; otherwise it is a usage
// error that says how many it takes and shows the command's usage line
// (cobra's own "accepts 1 arg(s), received 0" names neither).
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return argCountError(cmd, fmt.Sprintf("%d argument%s", n, plural(n)), len(args))
		}
		return nil
	}
}

// minArgs checks that a command got at least n arguments.
func minArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return argCountError(cmd, fmt.Sprintf("at least %d argument%s", n, plural(n)), len(args))
		}
		return nil
	}
}

// noArgs refuses arguments to a command that takes none (cobra.NoArgs
// calls an argument an "unknown command", which misleads for "ls x").
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("%s takes no arguments, got %q; usage: %s", verbPath(cmd), args, usageLine(cmd))}
	}
	return nil
}

func argCountError(cmd *cobra.Command, want string, got int) error {
	return usageError{fmt.Errorf("%s takes %s, got %d; usage: %s", verbPath(cmd), want, got, usageLine(cmd))}
}

// usageLine is the command's usage without cobra's " [flags]" suffix.
func usageLine(cmd *cobra.Command) string {
	return strings.TrimSuffix(cmd.UseLine(), " [flags]")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// verbPath is the command's path below the root: "image save".
func verbPath(cmd *cobra.Command) string {
	return strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
}
