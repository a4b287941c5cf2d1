// Command imgharden hardens container images and gates them in build pipelines.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/imgharden/imgharden/internal/cli"
)

// version is set with -ldflags "-X main.version=...".
var version string

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Execute(ctx, cli.NewRootCmd(version), os.Args[1:])
	stop()
	os.Exit(code)
}
