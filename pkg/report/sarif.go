package report

import (
	"fmt"
	"io"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/imgharden/imgharden/pkg/finding"
)

// SARIF 2.1.0, shaped for GitHub code scanning (docs: "SARIF support for code scanning"):
//
//   - rules carry the required shortDescription, fullDescription and help.text (GitHub caps
//     descriptions at 1024 characters and names at 255; longer text is cut), plus
//     help.markdown, helpUri = the rule's doc page, defaultConfiguration.level and
//     properties.tags / security-severity, which makes them security results (GitHub takes a
//     result's security severity from its rule, so a rule whose findings all carry a policy
//     override gets the overridden score);
//   - every result has exactly one location with a physicalLocation whose artifactLocation.uri
//     is a relative path with no URI scheme (GitHub rejects unknown schemes) and a region
//     (startLine, startColumn, endLine, endColumn), because code scanning needs both to show
//     an alert;
//   - image files use their path inside the image without the leading slash ("usr/bin/passwd"),
//     percent-encoded; Dockerfile findings use their path and line; findings about the image
//     config (user, ENV, labels, history) have no file and use the logical artifact
//     "Dockerfile", line 1: it is where such problems are fixed, and it stays the same from one
//     scan to the next (an image reference would change with every tag and make GitHub close and
//     reopen the alert on each run). Their logicalLocations name the config field;
//   - partialFingerprints carry "imgharden/v1" = Finding.Fingerprint() and, because GitHub
//     only uses primaryLocationLineHash and cannot compute one for files that are not in the
//     repository, primaryLocationLineHash derived from the same fingerprint;
//   - layer index, digest, diffID, createdBy, removed, env and label go in result properties;
//   - at most maxSARIFResults results (GitHub rejects a run with more than 25,000); findings
//     come sorted most severe first, so the ones left out are the least severe, and their
//     number is in run.properties.omittedResults.

const (
	sarifSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
	sarifVersion = "2.1.0"
	// fingerprintKey names imgharden's own fingerprint in partialFingerprints.
	fingerprintKey = "imgharden/v1"
	// configURI is the artifact for findings that are about the image config, not a file.
	configURI = "Dockerfile"
	// GitHub limits.
	maxDescription = 1024
	maxRuleName    = 255
	maxTags        = 10
)

// maxSARIFResults is GitHub's limit on results per run; a variable so tests can lower it.
var maxSARIFResults = 25000

// securitySeverity maps severities to the CVSS-like score GitHub reads from
// properties.security-severity (over 9.0 critical, 7.0–8.9 high, 4.0–6.9 medium, 0.1–3.9 low).
var securitySeverity = map[finding.Severity]string{
	finding.SeverityCritical: "9.5",
	finding.SeverityHigh:     "8.0",
	finding.SeverityMedium:   "5.5",
	finding.SeverityLow:      "3.0",
	finding.SeverityInfo:     "1.0",
}

func sarifLevel(s finding.Severity) string {
	switch {
	case s >= finding.SeverityHigh:
		return "error"
	case s == finding.SeverityMedium:
		return "warning"
	}
	return "note"
}

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool       sarifTool      `json:"tool"`
	Results    []sarifResult  `json:"results"`
	Properties map[string]any `json:"properties,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name            string      `json:"name"`
	Version         string      `json:"version,omitempty"`
	SemanticVersion string      `json:"semanticVersion,omitempty"`
	InformationURI  string      `json:"informationUri,omitempty"`
	Rules           []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifHelp struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	Help                 sarifHelp      `json:"help"`
	HelpURI              string         `json:"helpUri"`
	DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
	Properties           sarifRuleProps `json:"properties"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifRuleProps struct {
	Tags             []string `json:"tags"`
	SecuritySeverity string   `json:"security-severity"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Properties          sarifResultProps  `json:"properties"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical  `json:"physicalLocation"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
	Message          *sarifText     `json:"message,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

// sarifRegion is a whole line. GitHub's table marks all four fields as required; an empty
// column range (1 to 1) marks the start of the line.
type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn"`
	EndLine     int `json:"endLine"`
	EndColumn   int `json:"endColumn"`
}

type sarifLogical struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

type sarifResultProps struct {
	Severity    string            `json:"severity"`
	Path        string            `json:"path,omitempty"`
	Env         string            `json:"env,omitempty"`
	Label       string            `json:"label,omitempty"`
	LayerIndex  int               `json:"layerIndex"`
	LayerDigest string            `json:"layerDigest,omitempty"`
	DiffID      string            `json:"diffID,omitempty"`
	CreatedBy   string            `json:"createdBy,omitempty"`
	Removed     bool              `json:"removed"`
	Evidence    string            `json:"evidence,omitempty"`
	Details     map[string]string `json:"details,omitempty"`
}

type sarifWriter struct{}

func (sarifWriter) Write(w io.Writer, r *Report) error {
	if err := checkReport(r); err != nil {
		return err
	}
	name := r.Tool.Name
	if name == "" {
		name = "imgharden"
	}
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{Name: name, Version: r.Tool.Version,
			SemanticVersion: semver(r.Tool.Version), InformationURI: r.Tool.InformationURI}},
		Results: []sarifResult{},
	}

	// Rules: the catalog in the order given, then any rule a finding names that the catalog
	// lacks (described from the finding), so every result has a valid ruleIndex. GitHub takes
	// a result's security severity from its rule, so when policy overrode a rule's severity
	// (all its findings share one severity that is not the default) the rule says so.
	effective := map[string]finding.Severity{}
	for _, f := range r.Findings {
		if s, ok := effective[f.RuleID]; ok && s != f.Severity {
			effective[f.RuleID] = 0 // mixed: keep the default
			continue
		} else if !ok {
			effective[f.RuleID] = f.Severity
		}
	}
	index := map[string]int{}
	rules := []sarifRule{}
	for _, rule := range r.Rules {
		if rule == nil {
			continue
		}
		if _, dup := index[rule.ID]; dup {
			continue
		}
		index[rule.ID] = len(rules)
		sr := sarifRuleFor(rule)
		if s := effective[rule.ID]; s != 0 && s != rule.Severity {
			sr.Properties.SecuritySeverity = securitySeverity[s]
		}
		rules = append(rules, sr)
	}
	for _, f := range r.Findings {
		if _, ok := index[f.RuleID]; !ok {
			index[f.RuleID] = len(rules)
			rules = append(rules, sarifRuleFor(&finding.Rule{ID: f.RuleID, Slug: f.Slug, Title: f.Title,
				Severity: f.Severity, Category: categoryOf(f.RuleID)}))
		}
	}
	run.Tool.Driver.Rules = rules

	findings := r.Findings
	if len(findings) > maxSARIFResults {
		run.Properties = map[string]any{"omittedResults": len(findings) - maxSARIFResults}
		findings = findings[:maxSARIFResults]
	}
	for _, f := range findings {
		run.Results = append(run.Results, sarifResultFor(f, index[f.RuleID]))
	}
	if img := imageProperties(r.Image); len(img) > 0 {
		if run.Properties == nil {
			run.Properties = map[string]any{}
		}
		run.Properties["image"] = img
	}
	return encodeJSON(w, sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: []sarifRun{run}})
}

func imageProperties(img Image) map[string]string {
	m := map[string]string{}
	for k, v := range map[string]string{"ref": img.Ref, "digest": img.Digest, "id": img.ID,
		"platform": img.Platform, "user": img.User} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}

func sarifRuleFor(r *finding.Rule) sarifRule {
	title := firstNonEmpty(r.Title, r.Slug, r.ID)
	full := firstNonEmpty(r.Description, title)
	tags := []string{"security", r.Category.String()}
	if r.Experimental {
		tags = append(tags, "experimental")
	}
	if r.Deprecated {
		tags = append(tags, "deprecated")
	}
	tags = append(tags, r.Refs...)
	if len(tags) > maxTags {
		tags = tags[:maxTags]
	}
	return sarifRule{
		ID:                   r.ID,
		Name:                 cut(firstNonEmpty(r.Slug, r.ID), maxRuleName),
		ShortDescription:     sarifText{Text: cut(title, maxDescription)},
		FullDescription:      sarifText{Text: cut(full, maxDescription)},
		Help:                 sarifHelp{Text: helpText(r), Markdown: helpMarkdown(r)},
		HelpURI:              r.DocURL(),
		DefaultConfiguration: sarifConfig{Level: sarifLevel(r.Severity)},
		Properties:           sarifRuleProps{Tags: tags, SecuritySeverity: securitySeverity[r.Severity]},
	}
}

func helpText(r *finding.Rule) string {
	parts := []string{firstNonEmpty(r.Description, r.Title, r.ID)}
	if r.Remediation != "" {
		parts = append(parts, "Remediation: "+r.Remediation)
	}
	if len(r.Refs) > 0 {
		parts = append(parts, "References: "+strings.Join(r.Refs, ", "))
	}
	parts = append(parts, "Documentation: "+r.DocURL())
	return strings.Join(parts, "\n\n")
}

func helpMarkdown(r *finding.Rule) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s %s**: %s\n\n", r.ID, r.Slug, firstNonEmpty(r.Title, r.ID))
	fmt.Fprintf(&b, "Severity: %s · Category: %s\n\n", r.Severity, r.Category)
	if r.Description != "" {
		fmt.Fprintf(&b, "%s\n\n", r.Description)
	}
	if r.Remediation != "" {
		fmt.Fprintf(&b, "### Remediation\n\n%s\n\n", r.Remediation)
	}
	if len(r.Refs) > 0 {
		fmt.Fprintf(&b, "### References\n\n")
		for _, ref := range r.Refs {
			fmt.Fprintf(&b, "- %s\n", ref)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "[Documentation](%s)\n", r.DocURL())
	return b.String()
}

func sarifResultFor(f finding.Finding, ruleIndex int) sarifResult {
	l := f.Location
	var loc sarifLocation
	switch {
	case strings.HasPrefix(l.Path, "/"): // a file in the image
		loc.PhysicalLocation.ArtifactLocation.URI = encodeURIPath(strings.TrimLeft(path.Clean(l.Path), "/"))
	case l.Path != "": // a file in the repository, such as a Dockerfile
		loc.PhysicalLocation.ArtifactLocation.URI = encodeURIPath(path.Clean(l.Path))
	default:
		loc.PhysicalLocation.ArtifactLocation.URI = configURI
	}
	if loc.PhysicalLocation.ArtifactLocation.URI == "" || loc.PhysicalLocation.ArtifactLocation.URI == "." {
		// The image root itself.
		loc.PhysicalLocation.ArtifactLocation.URI = "."
	}
	line := 1
	if l.Line > 0 {
		line = l.Line
	}
	loc.PhysicalLocation.Region = sarifRegion{StartLine: line, StartColumn: 1, EndLine: line, EndColumn: 1}
	switch {
	case l.Env != "":
		loc.LogicalLocations = []sarifLogical{{Name: l.Env, FullyQualifiedName: "config.Env." + l.Env, Kind: "variable"}}
	case l.Label != "":
		loc.LogicalLocations = []sarifLogical{{Name: l.Label, FullyQualifiedName: "config.Labels." + l.Label, Kind: "property"}}
	case l.Path == "":
		loc.LogicalLocations = []sarifLogical{{Name: "config", FullyQualifiedName: "config", Kind: "object"}}
	}
	if l.LayerIndex >= 0 {
		msg := "layer " + strconv.Itoa(l.LayerIndex)
		if l.CreatedBy != "" {
			msg += ": " + shortCreatedBy(l.CreatedBy)
		}
		if l.Removed {
			msg += " (removed in a later layer)"
		}
		loc.Message = &sarifText{Text: msg}
	}
	details := map[string]string{}
	for k, v := range f.Details {
		details[k] = v
	}
	fp := f.Fingerprint()
	return sarifResult{
		RuleID:    f.RuleID,
		RuleIndex: ruleIndex,
		Level:     sarifLevel(f.Severity),
		Message:   sarifText{Text: firstNonEmpty(f.Message, f.Title, f.RuleID)},
		Locations: []sarifLocation{loc},
		PartialFingerprints: map[string]string{
			fingerprintKey:            fp,
			"primaryLocationLineHash": fp[:16] + ":1",
		},
		Properties: sarifResultProps{
			Severity: f.Severity.String(), Path: l.Path, Env: l.Env, Label: l.Label,
			LayerIndex: l.LayerIndex, LayerDigest: l.LayerDigest, DiffID: l.DiffID,
			CreatedBy: l.CreatedBy, Removed: l.Removed, Evidence: evidence(f.Evidence),
			Details: details,
		},
	}
}

// encodeURIPath percent-encodes a relative path so it is a valid URI reference without a
// scheme: everything but unreserved characters, "/" and a few safe sub-delimiters is encoded,
// and ":" always is (so "a:b" cannot read as scheme "a").
func encodeURIPath(p string) string {
	const keep = "-._~/!$&'()*+,;=@"
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

var semverRE = regexp.MustCompile(`^v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)$`)

// semver returns v as a Semantic Versioning 2.0 string, or "" when it is not one.
func semver(v string) string {
	if m := semverRE.FindStringSubmatch(v); m != nil {
		return m[1]
	}
	return ""
}

// categoryOf reads the category digit from a rule ID ("IH1001" → image filesystem).
func categoryOf(id string) finding.Category {
	if len(id) >= 3 && id[2] >= '0' && id[2] <= '9' {
		return finding.Category(id[2] - '0')
	}
	return finding.CategoryMeta
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

// cut shortens s to at most n runes, ending with "…" when it was cut.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
