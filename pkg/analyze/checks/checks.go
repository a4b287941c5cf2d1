// Package checks holds imgharden's built-in image checks. Compose them with the engine:
//
//	analyze.New(analyze.WithChecks(checks.Default()...))
package checks

import "github.com/imgharden/imgharden/pkg/analyze"

// Default is the list of built-in checks, one per line, in rule-ID order.
func Default() []analyze.Check {
	return []analyze.Check{
		secretConfig{},
		secretContent{},
	}
}
