package checks

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSecretRulePages checks docs/rules/<ID>.md of every secret rule: the template's title
// and metadata lines (matching the rule record), the five sections in order, a text-report
// example line for the rule, and Dockerfile examples.
func TestSecretRulePages(t *testing.T) {
	sections := []string{"## Output", "## Description", "## Bad", "## Good", "## References"}
	for _, r := range append(secretContent{}.Rules(), secretConfig{}.Rules()...) {
		t.Run(r.ID, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "rules", r.ID+".md"))
			if err != nil {
				t.Fatalf("rule page missing: %v", err)
			}
			lines := strings.Split(string(b), "\n")
			if want := fmt.Sprintf("# %s %s: %s", r.ID, r.Slug, r.Title); lines[0] != want {
				t.Errorf("first line %q, want %q", lines[0], want)
			}
			if want := fmt.Sprintf("Severity: %s · Category: %s · References: %s", r.Severity, r.Category, strings.Join(r.Refs, ", ")); len(lines) < 2 || lines[1] != want {
				t.Errorf("second line must be %q", want)
			}
			var got []string
			for _, l := range lines {
				if strings.HasPrefix(l, "## ") {
					got = append(got, l)
				}
			}
			if strings.Join(got, "|") != strings.Join(sections, "|") {
				t.Errorf("sections %q, want %q", got, sections)
			}
			out := regexp.MustCompile(`(?m)^` + strings.ToUpper(r.Severity.String()) + ` +` + r.ID + `  \S`)
			if !out.Match(b) {
				t.Errorf("no text-report example line for %s at %s", r.ID, r.Severity)
			}
			if n := strings.Count(string(b), "```dockerfile"); n < 2 {
				t.Errorf("%d dockerfile examples, want Bad and Good", n)
			}
		})
	}
}
