package report

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/imgharden/imgharden/pkg/finding"
)

func decodeSARIF(t *testing.T, out []byte) sarifLog {
	t.Helper()
	var doc sarifLog
	dec := json.NewDecoder(strings.NewReader(string(out)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("decoding SARIF: %v", err)
	}
	return doc
}

// githubViolations checks what GitHub code scanning needs on top of the SARIF schema
// ("SARIF support for code scanning": required properties, no empty strings, limits).
func githubViolations(doc sarifLog) []string {
	var v []string
	bad := func(format string, args ...any) { v = append(v, fmt.Sprintf(format, args...)) }
	if doc.Schema == "" || doc.Version != "2.1.0" || len(doc.Runs) == 0 || len(doc.Runs) > 20 {
		bad("log: $schema %q, version %q, %d runs", doc.Schema, doc.Version, len(doc.Runs))
	}
	for _, run := range doc.Runs {
		d := run.Tool.Driver
		if d.Name == "" {
			bad("tool.driver.name is empty")
		}
		if len(d.Rules) > 25000 || len(run.Results) > 25000 {
			bad("%d rules, %d results", len(d.Rules), len(run.Results))
		}
		ids := map[string]bool{}
		for _, r := range d.Rules {
			switch {
			case r.ID == "" || ids[r.ID]:
				bad("rule id %q empty or repeated", r.ID)
			case r.ShortDescription.Text == "" || utf8.RuneCountInString(r.ShortDescription.Text) > 1024:
				bad("rule %s: shortDescription %q", r.ID, r.ShortDescription.Text)
			case r.FullDescription.Text == "" || utf8.RuneCountInString(r.FullDescription.Text) > 1024:
				bad("rule %s: fullDescription %q", r.ID, r.FullDescription.Text)
			case r.Help.Text == "":
				bad("rule %s: help.text empty", r.ID)
			case utf8.RuneCountInString(r.Name) > 255:
				bad("rule %s: name too long", r.ID)
			case len(r.Properties.Tags) > 10:
				bad("rule %s: %d tags (GitHub keeps 10)", r.ID, len(r.Properties.Tags))
			case !oneOf(r.DefaultConfiguration.Level, "note", "warning", "error"):
				bad("rule %s: level %q", r.ID, r.DefaultConfiguration.Level)
			}
			if s, err := strconv.ParseFloat(r.Properties.SecuritySeverity, 64); err != nil || s <= 0 || s > 10 {
				bad("rule %s: security-severity %q", r.ID, r.Properties.SecuritySeverity)
			}
			if r.HelpURI == "" {
				bad("rule %s: no helpUri", r.ID)
			}
			ids[r.ID] = true
		}
		for i, res := range run.Results {
			if res.RuleIndex < 0 || res.RuleIndex >= len(d.Rules) || d.Rules[res.RuleIndex].ID != res.RuleID {
				bad("result %d: ruleIndex %d does not point at %s", i, res.RuleIndex, res.RuleID)
			}
			if res.Message.Text == "" {
				bad("result %d: empty message", i)
			}
			if !oneOf(res.Level, "note", "warning", "error") {
				bad("result %d: level %q", i, res.Level)
			}
			if len(res.Locations) == 0 || len(res.Locations) > 10 {
				bad("result %d: %d locations", i, len(res.Locations))
				continue
			}
			pl := res.Locations[0].PhysicalLocation
			uri := pl.ArtifactLocation.URI
			u, err := url.Parse(uri)
			switch {
			case uri == "":
				bad("result %d: empty artifactLocation.uri", i)
			case err != nil:
				bad("result %d: uri %q: %v", i, uri, err)
			case u.Scheme != "" || u.IsAbs() || strings.HasPrefix(uri, "/"):
				bad("result %d: uri %q is not a relative path", i, uri)
			}
			if reg := pl.Region; reg.StartLine < 1 || reg.StartColumn < 1 || reg.EndLine < reg.StartLine || reg.EndColumn < 1 {
				bad("result %d: region %+v", i, reg)
			}
			if res.PartialFingerprints[fingerprintKey] == "" || res.PartialFingerprints["primaryLocationLineHash"] == "" {
				bad("result %d: partialFingerprints %v", i, res.PartialFingerprints)
			}
		}
	}
	return v
}

func oneOf(s string, set ...string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}

func TestSARIFGitHubConstraints(t *testing.T) {
	long := &finding.Rule{ID: "IH1999", Slug: strings.Repeat("s", 300), Title: strings.Repeat("t", 2000),
		Severity: finding.SeverityLow, Category: finding.CategoryImageFS, Description: strings.Repeat("d", 3000),
		Refs: []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"}}
	for _, tc := range []struct {
		name string
		r    *Report
	}{
		{"sample", sampleReport()},
		{"empty", emptyReport()},
		{"no catalog", &Report{Findings: sampleReport().Findings}},
		{"odd paths", &Report{Rules: catalogRules(), Findings: []finding.Finding{
			finding.New(ruleSetuid, at("/", 0, "", "", "", false), "root dir", ""),
			finding.New(ruleSetuid, at("/opt/a b/c:d?e#f%g", 0, "", "", "", false), "odd", ""),
			finding.New(ruleSetuid, at("/x:y", 0, "", "", "", false), "colon first", ""),
			finding.New(ruleSetuid, at("/srv/café", 0, "", "", "", false), "unicode", ""),
			finding.New(ruleSetuid, at("//double//slash/", 0, "", "", "", false), "unclean", ""),
			finding.New(ruleLatest, finding.Location{Path: "./Dockerfile", Line: 0, LayerIndex: -1}, "no line", ""),
		}}},
		{"long rule texts", &Report{Rules: []*finding.Rule{long}, Findings: []finding.Finding{
			finding.New(long, at("/a", 0, "", "", "", false), "m", "")}}},
		{"empty message falls back to title", &Report{Findings: []finding.Finding{
			{RuleID: "IH1001", Title: "File has the setuid bit", Severity: finding.SeverityHigh, Location: at("/a", 0, "", "", "", false)}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := decodeSARIF(t, write(t, "sarif", tc.r))
			for _, v := range githubViolations(doc) {
				t.Error(v)
			}
			if got, want := len(doc.Runs[0].Results), len(tc.r.Findings); got != want {
				t.Errorf("%d results for %d findings", got, want)
			}
		})
	}
}

// The checker above must itself catch what GitHub rejects.
func TestGitHubViolationsCatches(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*sarifLog)
	}{
		{"no location", func(d *sarifLog) { d.Runs[0].Results[0].Locations = nil }},
		{"empty uri", func(d *sarifLog) { d.Runs[0].Results[0].Locations[0].PhysicalLocation.ArtifactLocation.URI = "" }},
		{"uri with a scheme", func(d *sarifLog) {
			d.Runs[0].Results[0].Locations[0].PhysicalLocation.ArtifactLocation.URI = "alpine:3.20"
		}},
		{"absolute path", func(d *sarifLog) {
			d.Runs[0].Results[0].Locations[0].PhysicalLocation.ArtifactLocation.URI = "/etc/passwd"
		}},
		{"no region", func(d *sarifLog) { d.Runs[0].Results[0].Locations[0].PhysicalLocation.Region = sarifRegion{} }},
		{"wrong ruleIndex", func(d *sarifLog) { d.Runs[0].Results[0].RuleIndex++ }},
		{"no fingerprint", func(d *sarifLog) { d.Runs[0].Results[0].PartialFingerprints = nil }},
		{"empty help", func(d *sarifLog) { d.Runs[0].Tool.Driver.Rules[0].Help.Text = "" }},
		{"bad security-severity", func(d *sarifLog) { d.Runs[0].Tool.Driver.Rules[0].Properties.SecuritySeverity = "0.0" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := decodeSARIF(t, write(t, "sarif", sampleReport()))
			if v := githubViolations(doc); len(v) != 0 {
				t.Fatalf("unbroken document has violations: %v", v)
			}
			tc.mutate(&doc)
			if v := githubViolations(doc); len(v) == 0 {
				t.Error("no violation reported")
			}
		})
	}
}

func TestSARIFResults(t *testing.T) {
	doc := decodeSARIF(t, write(t, "sarif", sampleReport()))
	run := doc.Runs[0]
	byRule := map[string]sarifResult{}
	for _, r := range run.Results {
		byRule[r.RuleID] = r
	}
	for _, tc := range []struct {
		rule      string
		uri       string
		line      int
		level     string
		logical   string
		layer     int
		removed   bool
		createdBy string
	}{
		{"IH4001", "app/.aws/credentials", 1, "error", "", 1, true, "COPY . /app # buildkit"},
		{"IH1001", "usr/bin/passwd", 1, "error", "", 0, false, "ADD rootfs.tar / # buildkit"},
		{"IH2003", configURI, 1, "error", "config.Env.AWS_SECRET_ACCESS_KEY", 2, false, "/bin/sh -c #(nop)  ENV AWS_SECRET_ACCESS_KEY=wJal…"},
		{"IH2004", configURI, 1, "error", "config.Labels.org.example.token", -1, false, ""},
		{"IH2001", configURI, 1, "warning", "config", -1, false, ""},
		{"IH3002", "Dockerfile", 3, "note", "", -1, false, ""},
		{"IH2005", configURI, 1, "note", "config", -1, false, ""},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			r, ok := byRule[tc.rule]
			if !ok {
				t.Fatalf("no result for %s", tc.rule)
			}
			loc := r.Locations[0]
			if got := loc.PhysicalLocation.ArtifactLocation.URI; got != tc.uri {
				t.Errorf("uri = %q, want %q", got, tc.uri)
			}
			if got := loc.PhysicalLocation.Region.StartLine; got != tc.line {
				t.Errorf("startLine = %d, want %d", got, tc.line)
			}
			if r.Level != tc.level {
				t.Errorf("level = %q, want %q", r.Level, tc.level)
			}
			var logical string
			if len(loc.LogicalLocations) > 0 {
				logical = loc.LogicalLocations[0].FullyQualifiedName
			}
			if logical != tc.logical {
				t.Errorf("logical location = %q, want %q", logical, tc.logical)
			}
			p := r.Properties
			if p.LayerIndex != tc.layer || p.Removed != tc.removed || p.CreatedBy != tc.createdBy {
				t.Errorf("properties = %+v", p)
			}
		})
	}
	// Fingerprints are the finding's, and distinct.
	seen := map[string]bool{}
	for i, r := range run.Results {
		want := sampleReport().Findings[i].Fingerprint()
		if got := r.PartialFingerprints[fingerprintKey]; got != want {
			t.Errorf("result %d fingerprint %q, want %q", i, got, want)
		}
		if seen[want] {
			t.Errorf("fingerprint %s repeated", want)
		}
		seen[want] = true
	}
	// The finding whose rule is not in the catalog got a descriptor of its own.
	last := run.Tool.Driver.Rules[len(run.Tool.Driver.Rules)-1]
	if last.ID != "IH5001" || last.Name != "mutable-tag" || last.Properties.Tags[1] != "registry" {
		t.Errorf("synthesised rule = %+v", last)
	}
	if got := run.Tool.Driver.SemanticVersion; got != "1.2.3" {
		t.Errorf("semanticVersion = %q", got)
	}
}

// Policy overrides are per rule; GitHub reads security-severity from the rule, so the rule
// carries the overridden severity.
func TestSARIFSecuritySeverityFollowsOverrides(t *testing.T) {
	low := finding.New(ruleSetuid, at("/a", 0, "", "", "", false), "m", "")
	low.Severity = finding.SeverityLow
	mixed := finding.New(ruleSetuid, at("/b", 0, "", "", "", false), "m", "")
	for _, tc := range []struct {
		name     string
		findings []finding.Finding
		want     string
	}{
		{"no findings: default", nil, "8.0"},
		{"default severity", []finding.Finding{mixed}, "8.0"},
		{"overridden to low", []finding.Finding{low}, "3.0"},
		{"mixed: default", []finding.Finding{low, mixed}, "8.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := decodeSARIF(t, write(t, "sarif", &Report{Rules: []*finding.Rule{ruleSetuid}, Findings: tc.findings}))
			rule := doc.Runs[0].Tool.Driver.Rules[0]
			if rule.Properties.SecuritySeverity != tc.want {
				t.Errorf("security-severity %q, want %q", rule.Properties.SecuritySeverity, tc.want)
			}
			if rule.DefaultConfiguration.Level != "error" {
				t.Errorf("defaultConfiguration.level %q changed", rule.DefaultConfiguration.Level)
			}
		})
	}
}

func TestSARIFResultLimit(t *testing.T) {
	defer func(n int) { maxSARIFResults = n }(maxSARIFResults)
	maxSARIFResults = 3
	for _, tc := range []struct {
		findings, results, omitted int
	}{
		{2, 2, 0},
		{3, 3, 0},
		{5, 3, 2},
	} {
		t.Run(strconv.Itoa(tc.findings), func(t *testing.T) {
			r := &Report{Rules: catalogRules()}
			for i := range tc.findings {
				r.Findings = append(r.Findings, finding.New(ruleSetuid, at("/f"+strconv.Itoa(i), 0, "", "", "", false), "m", ""))
			}
			doc := decodeSARIF(t, write(t, "sarif", r))
			run := doc.Runs[0]
			if len(run.Results) != tc.results {
				t.Errorf("%d results, want %d", len(run.Results), tc.results)
			}
			got, _ := run.Properties["omittedResults"].(float64)
			if int(got) != tc.omitted {
				t.Errorf("omittedResults = %v, want %d", run.Properties["omittedResults"], tc.omitted)
			}
		})
	}
}

func TestSARIFLevels(t *testing.T) {
	for s, want := range map[finding.Severity]string{
		finding.SeverityCritical: "error", finding.SeverityHigh: "error", finding.SeverityMedium: "warning",
		finding.SeverityLow: "note", finding.SeverityInfo: "note",
	} {
		if got := sarifLevel(s); got != want {
			t.Errorf("sarifLevel(%s) = %q, want %q", s, got, want)
		}
		if securitySeverity[s] == "" {
			t.Errorf("no security-severity for %s", s)
		}
	}
}

func TestEncodeURIPath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"usr/bin/passwd", "usr/bin/passwd"},
		{"opt/a b", "opt/a%20b"},
		{"x:y", "x%3Ay"},
		{"a?b#c%d", "a%3Fb%23c%25d"},
		{"srv/café", "srv/caf%C3%A9"},
		{"keep-._~!$&'()*+,;=@", "keep-._~!$&'()*+,;=@"},
	} {
		if got := encodeURIPath(tc.in); got != tc.want {
			t.Errorf("encodeURIPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if u, err := url.Parse(encodeURIPath(tc.in)); err != nil || u.Scheme != "" {
			t.Errorf("%q does not parse as a relative reference: %v", encodeURIPath(tc.in), err)
		} else if dec, _ := url.PathUnescape(u.EscapedPath()); dec != tc.in {
			t.Errorf("round trip %q → %q", tc.in, dec)
		}
	}
}

func TestSemver(t *testing.T) {
	for in, want := range map[string]string{
		"v1.2.3": "1.2.3", "1.2.3": "1.2.3", "v1.2.3-rc.1+build.5": "1.2.3-rc.1+build.5",
		"": "", "(devel)": "", "v1.2": "", "v0.0.0-20250101000000-abcdef123456": "0.0.0-20250101000000-abcdef123456",
	} {
		if got := semver(in); got != want {
			t.Errorf("semver(%q) = %q, want %q", in, got, want)
		}
	}
}
