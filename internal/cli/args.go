package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// Every verb checks its positional arguments with one of exactArgs,
// minArgs, rangeArgs or noArgs, so that a missing or extra argument is
// always the same usage error, one sentence naming the arguments the
// verb takes, what is missing or extra, and the usage line:
//
//	image tag takes NAME NEW, got 1 argument (missing NEW); usage: winlayer image tag NAME NEW
//	ls takes no arguments, got 1 argument (extra "x"); usage: winlayer ls
//
// (cobra's own "accepts 1 arg(s), received 0" names neither.)

// exactArgs: the command takes exactly the arguments names ("SRC", "DST").
func exactArgs(names ...string) cobra.PositionalArgs {
	return argSpec{names: names, min: len(names), max: len(names)}.check
}

// minArgs: the command takes names, the one written "NAME..." one or more
// times ("NAME...", "DEST"), so at least len(names) arguments.
func minArgs(names ...string) cobra.PositionalArgs {
	return argSpec{names: names, min: len(names), max: -1}.check
}

// rangeArgs: the command takes names, the last ones optional, written
// "[PATH]": from min to len(names) arguments.
func rangeArgs(min int, names ...string) cobra.PositionalArgs {
	return argSpec{names: names, min: min, max: len(names)}.check
}

// noArgs refuses arguments to a command that takes none (cobra.NoArgs
// calls an argument an "unknown command", which misleads for "ls x").
func noArgs(cmd *cobra.Command, args []string) error { return argSpec{}.check(cmd, args) }

// argSpec is what a command takes: names, at least min of them, at most
// max (-1: no limit).
type argSpec struct {
	names    []string
	min, max int
}

func (a argSpec) check(cmd *cobra.Command, args []string) error {
	var what string
	switch {
	case len(args) < a.min:
		what = "missing " + strings.Join(a.names[len(args):a.min], " ")
	case a.max >= 0 && len(args) > a.max:
		extra := make([]string, len(args)-a.max)
		for i, x := range args[a.max:] {
			extra[i] = fmt.Sprintf("%q", x)
		}
		what = "extra " + strings.Join(extra, " ")
	default:
		return nil
	}
	takes := "no arguments"
	if len(a.names) > 0 {
		takes = strings.Join(a.names, " ")
	}
	return usageError{fmt.Errorf("%s takes %s, got %d argument%s (%s); usage: %s",
		verbPath(cmd), takes, len(args), plural(len(args)), what, usageLine(cmd))}
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
