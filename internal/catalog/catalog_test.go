package catalog

import (
	"context"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/imgharden/imgharden/docs"
	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
)

var (
	idRE   = regexp.MustCompile(`^IH[0-5][0-9]{3}$`)
	slugRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
)

// TestRules checks every rule record (STYLE B3): unique IDs and slugs, well-formed, every
// field a writer or the docs need is set, and the category matches the ID.
func TestRules(t *testing.T) {
	all := All()
	if len(all) == 0 {
		t.Fatal("no rules")
	}
	if _, err := Catalog(); err != nil {
		t.Fatal(err)
	}
	for i, r := range all {
		t.Run(r.ID, func(t *testing.T) {
			if i > 0 && all[i-1].ID >= r.ID {
				t.Errorf("not sorted after %s", all[i-1].ID)
			}
			for _, p := range ruleProblems(r) {
				t.Error(p)
			}
		})
	}
}

func ruleProblems(r *finding.Rule) []string {
	var p []string
	if !idRE.MatchString(r.ID) {
		p = append(p, fmt.Sprintf("ID %q does not match %s", r.ID, idRE))
	}
	if !slugRE.MatchString(r.Slug) {
		p = append(p, fmt.Sprintf("slug %q is not kebab-case", r.Slug))
	}
	if r.Title == "" || strings.HasSuffix(r.Title, ".") {
		p = append(p, fmt.Sprintf("title %q is empty or ends with a period", r.Title))
	}
	if r.Severity < finding.SeverityInfo || r.Severity > finding.SeverityCritical {
		p = append(p, fmt.Sprintf("severity %s is not one a finding can have", r.Severity))
	}
	if len(r.ID) == 6 && finding.Category(r.ID[2]-'0') != r.Category {
		p = append(p, fmt.Sprintf("category %s does not match the ID's digit", r.Category))
	}
	if strings.TrimSpace(r.Description) == "" {
		p = append(p, "no description")
	}
	if strings.TrimSpace(r.Remediation) == "" {
		p = append(p, "no remediation")
	}
	return p
}

func TestRuleProblemsCatches(t *testing.T) {
	good := finding.Rule{ID: "IH1001", Slug: "setuid-binary", Title: "T", Severity: finding.SeverityHigh,
		Category: finding.CategoryImageFS, Description: "d", Remediation: "r"}
	if p := ruleProblems(&good); len(p) != 0 {
		t.Fatalf("good rule: %v", p)
	}
	for name, mutate := range map[string]func(r *finding.Rule){
		"bad ID":         func(r *finding.Rule) { r.ID = "XH1001" },
		"bad slug":       func(r *finding.Rule) { r.Slug = "Setuid_Binary" },
		"no title":       func(r *finding.Rule) { r.Title = "" },
		"title period":   func(r *finding.Rule) { r.Title = "A title." },
		"no severity":    func(r *finding.Rule) { r.Severity = 0 },
		"severity none":  func(r *finding.Rule) { r.Severity = finding.SeverityNone },
		"wrong category": func(r *finding.Rule) { r.Category = finding.CategoryConfig },
		"no description": func(r *finding.Rule) { r.Description = " " },
		"no remediation": func(r *finding.Rule) { r.Remediation = "" },
	} {
		t.Run(name, func(t *testing.T) {
			r := good
			mutate(&r)
			if p := ruleProblems(&r); len(p) != 1 {
				t.Errorf("problems = %v, want exactly one", p)
			}
		})
	}
}

// TestRulePages checks docs/rules/<ID>.md for every rule (the buildkit-style template in the
// common brief), and that no page is left without a rule.
func TestRulePages(t *testing.T) {
	pages := map[string]bool{}
	names, err := fs.Glob(docs.Rules, "rules/*.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		pages[strings.TrimSuffix(strings.TrimPrefix(n, "rules/"), ".md")] = true
	}
	for _, r := range All() {
		t.Run(r.ID, func(t *testing.T) {
			b, err := fs.ReadFile(docs.Rules, "rules/"+r.ID+".md")
			if err != nil {
				t.Fatalf("docs/rules/%s.md is missing: %v", r.ID, err)
			}
			for _, p := range pageProblems(r, string(b)) {
				t.Error(p)
			}
			delete(pages, r.ID)
		})
	}
	for id := range pages {
		t.Errorf("docs/rules/%s.md documents no rule in the catalog", id)
	}
}

var sections = []string{"## Output", "## Description", "## Bad", "## Good", "## References"}

func pageProblems(r *finding.Rule, page string) []string {
	var p []string
	lines := strings.Split(page, "\n")
	if want := fmt.Sprintf("# %s %s: %s", r.ID, r.Slug, r.Title); lines[0] != want {
		p = append(p, fmt.Sprintf("first line %q, want %q", lines[0], want))
	}
	refs := "none"
	if len(r.Refs) > 0 {
		refs = strings.Join(r.Refs, ", ")
	}
	if want := fmt.Sprintf("Severity: %s · Category: %s · References: %s", r.Severity, r.Category, refs); len(lines) < 2 || lines[1] != want {
		p = append(p, fmt.Sprintf("second line must be %q", want))
	}
	// Headings in order, each exactly once.
	var got []string
	for _, l := range lines {
		if strings.HasPrefix(l, "## ") {
			got = append(got, strings.TrimSpace(l))
		}
	}
	if strings.Join(got, "|") != strings.Join(sections, "|") {
		p = append(p, fmt.Sprintf("sections %q, want %q", got, sections))
		return p
	}
	body := func(h string) string {
		_, after, _ := strings.Cut(page, "\n"+h+"\n")
		before, _, _ := strings.Cut(after, "\n## ")
		return before
	}
	// Output: a fenced example of the text-report line, with the rule's severity and ID.
	out := body("## Output")
	lineRE := regexp.MustCompile(`(?m)^` + strings.ToUpper(r.Severity.String()) + ` +` + r.ID + `  \S`)
	if !strings.Contains(out, "```") || !lineRE.MatchString(out) {
		p = append(p, fmt.Sprintf("Output has no fenced text-report line like %q", strings.ToUpper(r.Severity.String())+"  "+r.ID+"  /path  message"))
	}
	for _, h := range []string{"## Bad", "## Good"} {
		if !strings.Contains(strings.ToLower(body(h)), "```dockerfile") {
			p = append(p, h+" has no ```dockerfile block")
		}
	}
	if strings.TrimSpace(body("## Description")) == "" {
		p = append(p, "empty Description")
	}
	return p
}

func TestPageProblemsCatches(t *testing.T) {
	r := &finding.Rule{ID: "IH1001", Slug: "setuid-binary", Title: "File has the setuid or setgid bit",
		Severity: finding.SeverityHigh, Category: finding.CategoryImageFS, Refs: []string{"ecs:R4"}}
	good := "# IH1001 setuid-binary: File has the setuid or setgid bit\n" +
		"Severity: high · Category: image-filesystem · References: ecs:R4\n\n" +
		"## Output\n\n```\nHIGH      IH1001  /usr/bin/su  su can run with its owner's privileges\n```\n\n" +
		"## Description\n\nWhy.\n\n## Bad\n\n```dockerfile\nFROM x\n```\n\n## Good\n\n```dockerfile\nFROM y\n```\n\n## References\n\n- ecs:R4\n"
	if p := pageProblems(r, good); len(p) != 0 {
		t.Fatalf("good page: %v", p)
	}
	for _, tc := range []struct{ name, from, to string }{
		{"wrong title", "bit\n", "bits\n"},
		{"wrong severity line", "Severity: high", "Severity: low"},
		{"missing section", "## Good\n", "## Fine\n"},
		{"sections out of order", "## Description\n\nWhy.\n\n## Bad", "## Bad\n\nWhy.\n\n## Description"},
		{"output line for another severity", "HIGH      IH1001", "LOW       IH1001"},
		{"no dockerfile block", "```dockerfile\nFROM y", "```\nFROM y"},
		{"empty description", "Why.", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page := strings.Replace(good, tc.from, tc.to, 1)
			if page == good {
				t.Fatal("replacement did not apply")
			}
			if p := pageProblems(r, page); len(p) == 0 {
				t.Error("no problem reported")
			}
		})
	}
}

type fakeCheck struct{ rules []*finding.Rule }

func (f fakeCheck) Rules() []*finding.Rule { return f.rules }
func (fakeCheck) CheckImage(context.Context, *analyze.View, analyze.Reporter) error {
	return nil
}

func TestAllGathersEverySourceOnce(t *testing.T) {
	a := &finding.Rule{ID: "IH1002", Slug: "b"}
	b := &finding.Rule{ID: "IH1001", Slug: "a"}
	defer func(s []func() []*finding.Rule) { sources = s }(sources)
	sources = []func() []*finding.Rule{
		rulesOf(fakeCheck{[]*finding.Rule{a}}, fakeCheck{[]*finding.Rule{a, b}}),
		func() []*finding.Rule { return []*finding.Rule{b, nil} },
	}
	got := All()
	if len(got) != 2 || got[0] != b || got[1] != a {
		t.Errorf("All() = %v", got)
	}
	sources = append(sources, func() []*finding.Rule { return []*finding.Rule{{ID: "IH1001", Slug: "c"}} })
	if _, err := Catalog(); err == nil {
		t.Error("Catalog accepted two rules with one ID")
	}
}
