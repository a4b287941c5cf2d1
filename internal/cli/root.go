// Package cli holds imgharden's cobra commands. It only parses flags and composes pkg/ calls.
package cli

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

const exitCodeHelp = `Exit codes:
  0  no finding at or above --fail-on (or the command succeeded)
  1  a finding at or above --fail-on, or a policy refusal
  2  usage error: bad flag, unknown transport, malformed reference, unparsable config or Dockerfile
  3  runtime error: unreadable image, registry failure, corrupt layer, garbage strace log, tool failure`

// NewRootCmd builds the imgharden command tree.
func NewRootCmd(version string) *cobra.Command {
	root := &cobra.Command{
		Use:           "imgharden",
		Short:         "Harden container images and gate them in build pipelines",
		Long:          "imgharden scans container images, rewrites Dockerfiles into hardened ones,\nturns strace logs into seccomp profiles and promotes images into ECR behind a policy gate.\n\n" + exitCodeHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &UsageError{Err: err} })
	// The verbs, listed explicitly (no init() registration). Keep one per line.
	root.AddCommand(
		newCmdVersion(version),
		NewCmdScan(version, nil),
		NewCmdRules(nil),
		NewCmdRewrite(nil),
		newCmdSeccomp(),
		NewCmdPush(version, nil),
		NewCmdPromote(version, nil),
		NewCmdSBOM(version, nil),
	)
	// Every subcommand maps flag errors to usage errors too.
	for _, c := range root.Commands() {
		setFlagErrors(c)
	}
	return root
}

// Execute runs the command tree with args and returns the process exit code. Errors are
// printed as one line on stderr.
func Execute(ctx context.Context, root *cobra.Command, args []string) int {
	root.SetArgs(args)
	if _, _, err := root.Find(args); err != nil {
		err = &UsageError{Err: err}
		// cobra's "Did you mean this?" suggestions span several lines.
		fmt.Fprintf(root.ErrOrStderr(), "imgharden: %s\n", oneLine(err.Error()))
		return ExitCode(err)
	}
	err := root.ExecuteContext(ctx)
	if err != nil && !errors.Is(err, ErrFindings) {
		fmt.Fprintf(root.ErrOrStderr(), "imgharden: %s\n", oneLine(err.Error()))
	}
	return ExitCode(err)
}

// UsageArgs wraps a cobra positional-argument validator so its errors are usage errors.
func UsageArgs(fn cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := fn(cmd, args); err != nil {
			return &UsageError{Err: err}
		}
		return nil
	}
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

func setFlagErrors(c *cobra.Command) {
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &UsageError{Err: err} })
	for _, sub := range c.Commands() {
		setFlagErrors(sub)
	}
}

func newCmdVersion(version string) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the imgharden version",
		Args:  UsageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := version
			if bi, ok := debug.ReadBuildInfo(); ok && v == "" {
				v = bi.Main.Version
			}
			if v == "" {
				v = "(devel)"
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "imgharden %s\n", v)
			return err
		},
	}
}
