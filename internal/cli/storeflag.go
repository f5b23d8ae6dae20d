package cli

import "github.com/spf13/cobra"

// storeless are the commands that use no store: they get no --store flag,
// so that neither their help shows it nor a command line that gives it
// is silently ignored. (help and completion, which cobra adds when the
// command line runs, get none either.)
// Keys are command paths below the root ("image copy").
var storeless = map[string]bool{"records": true, "verify": true, "login": true, "image copy": true}

// addStoreFlags gives --store to every command of root that uses the store.
// `winlayer --store DIR COMMAND` keeps working: cobra parses the flags
// before the command name as the command's own.
func addStoreFlags(root *cobra.Command, o *options) {
	for _, c := range root.Commands() {
		addStoreFlagsBelow(c, c.Name(), o)
	}
}

// addStoreFlagsBelow gives --store to c, or, when c only groups
// subcommands (image), to each of them that uses the store.
func addStoreFlagsBelow(c *cobra.Command, path string, o *options) {
	if storeless[path] {
		return
	}
	if !c.HasSubCommands() {
		addStoreFlag(c, o)
		return
	}
	for _, sub := range c.Commands() {
		addStoreFlagsBelow(sub, path+" "+sub.Name(), o)
	}
}
