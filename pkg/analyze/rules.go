package analyze

import (
	"fmt"

	"github.com/imgharden/imgharden/pkg/finding"
)

// RuleCheckFailed is reported when a check returns an error: a failing check is never silent.
var RuleCheckFailed = &finding.Rule{
	ID: "IH0001", Slug: "check-failed", Title: "A check could not complete",
	Severity: finding.SeverityMedium, Category: finding.CategoryMeta,
	Description: "One of imgharden's checks returned an error on this image. Its result is missing from the report, so the image was not fully analyzed.",
	Remediation: "Read the message: it names the check, the file and the error. Report a bug if the image is valid.",
}

// RuleUnsafeEntry is reported for layer entries whose names or hardlink targets try to leave
// the image root (absolute names or "../"). Well-behaved builders never write them; a layer
// that does is malformed or hostile.
var RuleUnsafeEntry = &finding.Rule{
	ID: "IH0003", Slug: "unsafe-layer-entry", Title: "Layer entry name escapes the image root",
	Severity: finding.SeverityHigh, Category: finding.CategoryMeta,
	Description: "A tar entry in a layer is absolute or contains '..' components, or a hardlink points outside the root. Container runtimes clean such names, but extraction tools that do not can be made to write outside their target directory.",
	Remediation: "Rebuild the layer with a normal builder; do not use images whose layers were crafted by hand.",
	Refs:        []string{"ecs:R6"},
}

// Rules lists the engine's own rules.
func Rules() []*finding.Rule { return []*finding.Rule{RuleCheckFailed, RuleUnsafeEntry} }

func checkFailed(c Check, p string, err error) finding.Finding {
	name := fmt.Sprintf("%T", c)
	if rs := c.Rules(); len(rs) > 0 {
		name = rs[0].ID + " (" + rs[0].Slug + ")"
	}
	msg := fmt.Sprintf("check %s failed: %v", name, err)
	if p != "" {
		msg = fmt.Sprintf("check %s failed on %s: %v", name, p, err)
	}
	return finding.New(RuleCheckFailed, finding.Location{Path: p, LayerIndex: -1}, msg, "")
}
