package publish

import "github.com/imgharden/imgharden/pkg/finding"

// Rules lists the registry rules (IH5xxx) whose refusals this package reports.
func Rules() []*finding.Rule {
	return []*finding.Rule{RuleMutableRepository, RuleRepositoryWithoutCMK, RuleKMSKeyMismatch, RuleTagExists}
}
