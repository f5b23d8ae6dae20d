package cli

import "github.com/spf13/cobra"

// storeless are the commands that use no store: they get no --store flag,
// so that neither their help shows it nor a command line that gives it
// is silently ignored. (help and completion, which cobra adds when the
// command line runs, get none either.)
var storeless = map[string]bool{"records": true, "verify": true, "login": true}

// addStoreFlags gives --store to every command of root that uses the store.
// `winlayer --store DIR COMMAND` keeps working: cobra parses the flags
// before the command name as the command's own.
func addStoreFlags(root *cobra.Command, o *options) {
	for _, c := range root.Commands() {
		if !storeless[c.Name()] {
			addStoreFlag(c, o)
		}
	}
}
