// Command winlayer imports, exports, inspects and verifies Windows
// container image layers on any OS. Run `winlayer --help` for the verbs.
package main

import (
	"context"
	"os"

	"github.com/winlayer/winlayer/internal/cli"
)

func main() {
	// The first SIGINT or SIGTERM cancels the command, which then stops
	// within moments, leaves the store as it was and exits 128+signal
	// (130, 143); a second one exits at once (see signals.go).
	ctx, sig := catchSignals(context.Background(), os.Stderr, os.Exit)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	os.Exit(sig.exitCode(code))
}
