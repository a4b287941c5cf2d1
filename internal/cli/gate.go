package cli

import (
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/imgharden/imgharden/internal/cli/options"
	"github.com/imgharden/imgharden/pkg/finding"
	"github.com/imgharden/imgharden/pkg/policy"
	"github.com/imgharden/imgharden/pkg/report"
)

// GateOptions are the report, policy and gate inputs that scan and promote share.
type GateOptions struct {
	Format    string
	Outputs   []output
	FailOn    finding.Severity
	Config    string // policy file; "" = .imgharden.yaml when present
	MaxFile   int64
	LayerConc int

	// The raw flag values parseFlags turns into the fields above.
	failOn, maxFile string
	outputs         []string
}

// addFlags registers --format, --output, --fail-on, --config, --max-file-size and the hidden
// --layer-concurrency. failOnUsage says what the gate does in this command.
func (g *GateOptions) addFlags(f *pflag.FlagSet, failOnUsage string) {
	f.StringVarP(&g.Format, "format", "f", "text", "report format on stdout: "+strings.Join(report.Formats(), ", "))
	f.StringArrayVarP(&g.outputs, "output", "o", nil, "also write a report, FORMAT=PATH (repeatable; PATH - is stdout)")
	f.StringVar(&g.failOn, "fail-on", "high", failOnUsage+" at or above this severity: info, low, medium, high, critical or none")
	f.StringVar(&g.Config, "config", "", "policy file (default "+policy.DefaultFile+" when present)")
	f.StringVar(&g.maxFile, "max-file-size", "8M", "read at most this much of each file for content checks")
	f.IntVar(&g.LayerConc, "layer-concurrency", 0, "layers decoded at once (default: number of CPUs)")
	_ = f.MarkHidden("layer-concurrency")
}

// parseFlags checks the flag values and fills the parsed fields; errors are usage errors.
func (g *GateOptions) parseFlags() error {
	if !slices.Contains(report.Formats(), g.Format) {
		return Usagef("unknown --format %q (want %s)", g.Format, strings.Join(report.Formats(), ", "))
	}
	sev, err := finding.ParseSeverity(g.failOn)
	if err != nil {
		return Usagef("--fail-on: %v", err)
	}
	g.FailOn = sev
	g.Outputs = nil
	for _, s := range g.outputs {
		out, err := parseOutput(s)
		if err != nil {
			return &UsageError{Err: err}
		}
		g.Outputs = append(g.Outputs, out)
	}
	if g.MaxFile, err = options.ParseSize(g.maxFile); err != nil {
		return Usagef("--max-file-size: %v", err)
	}
	return nil
}
