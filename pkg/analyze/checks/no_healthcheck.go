package checks

import (
	"context"
	"strings"

	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
)

// RuleNoHealthcheck reports images without a HEALTHCHECK.
var RuleNoHealthcheck = &finding.Rule{
	ID: "IH2002", Slug: "no-healthcheck", Title: "Image has no HEALTHCHECK",
	Severity: finding.SeverityInfo, Category: finding.CategoryConfig,
	Description: "The image config has no health check, or disables it with HEALTHCHECK NONE, so a runtime that " +
		"honours image health checks cannot tell a hung service from a working one. ECS does not read the image's " +
		"HEALTHCHECK (the task definition's healthCheck applies), and the OCI image format has no field for it: " +
		"buildah and podman keep it only with --format docker. Hence the informational severity.",
	Remediation: "Add a HEALTHCHECK in exec form that needs no shell or curl (HEALTHCHECK CMD [\"/app\", \"-healthcheck\"]), " +
		"or define the health check in the ECS task definition and ignore this rule.",
	Refs: []string{"cis-docker:4.6"},
}

type noHealthcheck struct{}

func (noHealthcheck) Rules() []*finding.Rule { return []*finding.Rule{RuleNoHealthcheck} }

func (noHealthcheck) CheckImage(_ context.Context, v *analyze.View, r analyze.Reporter) error {
	hc := v.Config().Config.Healthcheck
	loc := v.ConfigLocation()
	switch {
	case hc == nil || len(hc.Test) == 0:
		r.Report(nil, finding.New(RuleNoHealthcheck, loc, "the image defines no HEALTHCHECK", ""))
	case strings.EqualFold(hc.Test[0], "NONE"):
		loc.CreatedBy = lastInstruction(v, "HEALTHCHECK")
		r.Report(nil, finding.New(RuleNoHealthcheck, loc, "HEALTHCHECK NONE disables the health check", "Healthcheck.Test=[NONE]"))
	}
	return nil
}
