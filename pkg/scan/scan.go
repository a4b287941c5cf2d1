// Package scan composes the pieces of an image scan: the analysis engine with a check list,
// the policy (suppressions, severity overrides, dedupe, sort) and the report model the writers
// take. The scan, promote and rewrite commands share it, so an image passes or fails the same
// gate whichever command looked at it.
package scan

import (
	"context"
	"time"

	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
	"github.com/imgharden/imgharden/pkg/policy"
	"github.com/imgharden/imgharden/pkg/report"
	"github.com/imgharden/imgharden/pkg/source"
)

// Config is what a scan needs besides the image.
type Config struct {
	Checks  []analyze.Check  // the checks to run; the CLI passes checks.Default()
	Engine  []analyze.Option // extra engine options (file size cap, concurrency, logger)
	Policy  *policy.Config   // nil = defaults
	Catalog *finding.Catalog // for experimental rules and SARIF rule metadata
	Now     func() time.Time // decides expired ignores; nil = time.Now
	Tool    report.Tool
}

// Outcome is a finished scan.
type Outcome struct {
	Report   *report.Report
	Warnings []string        // from the policy (expired ignores)
	Result   *analyze.Result // the engine's raw result: merged view, layers, unprocessed findings
}

// Image scans an opened image.
func Image(ctx context.Context, img *source.Image, cfg Config) (*Outcome, error) {
	opts := append([]analyze.Option{analyze.WithChecks(cfg.Checks...)}, cfg.Engine...)
	res, err := analyze.New(opts...).Run(ctx, img.Image)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if cfg.Now != nil {
		now = cfg.Now
	}
	processed := cfg.Policy.Process(res.Findings, policy.Options{ImageRef: img.Ref.String(), Now: now(), Catalog: cfg.Catalog})
	rep := &report.Report{
		Tool: cfg.Tool,
		Image: report.Image{
			Ref:      img.Ref.String(),
			Digest:   img.ManifestDigest,
			ID:       img.ID,
			Platform: img.Platform,
			User:     res.Config.Config.User,
		},
		Findings:   processed.Findings,
		Suppressed: processed.Suppressed,
	}
	if cfg.Catalog != nil {
		rep.Rules = cfg.Catalog.Rules()
	}
	for _, l := range res.Layers {
		rep.Layers = append(rep.Layers, report.Layer{Index: l.Index, Digest: l.Digest, DiffID: l.DiffID, CreatedBy: l.CreatedBy})
	}
	return &Outcome{Report: rep, Warnings: processed.Warnings, Result: res}, nil
}
