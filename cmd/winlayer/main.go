// Command winlayer imports, exports, inspects and verifies Windows
// container image layers on any OS. Run `winlayer --help` for the verbs.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/winlayer/winlayer/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal cancels the command, which then stops within
	// moments and leaves the store as it was; a second one kills at once.
	context.AfterFunc(ctx, stop)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
