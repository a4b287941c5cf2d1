// Package catalog lists every rule imgharden knows, gathered from each package that declares
// rules. The CLI, the docs generator and the catalog test use it; library packages never do.
package catalog

import (
	"sort"

	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/analyze/checks"
	"github.com/imgharden/imgharden/pkg/finding"
	"github.com/imgharden/imgharden/pkg/rewrite"
)

// sources lists the packages that declare rules, one per line. A package with checks
// contributes through rulesOf(pkg.Default()...); one with a rule list through pkg.Rules.
var sources = []func() []*finding.Rule{
	analyze.Rules,
	rulesOf(checks.Default()...),
	rewrite.Rules,
}

// All returns every rule once, sorted by ID.
func All() []*finding.Rule {
	seen := map[*finding.Rule]bool{}
	var out []*finding.Rule
	for _, src := range sources {
		for _, r := range src() {
			if r != nil && !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Catalog indexes All by ID and slug. It fails when two rules share an ID or a slug.
func Catalog() (*finding.Catalog, error) { return finding.NewCatalog(All()...) }

// rulesOf gathers the rules of a set of checks.
func rulesOf(cs ...analyze.Check) func() []*finding.Rule {
	return func() []*finding.Rule {
		var out []*finding.Rule
		for _, c := range cs {
			out = append(out, c.Rules()...)
		}
		return out
	}
}
