// Package report writes scan results as text, JSON or SARIF 2.1.0.
//
// Writers depend only on the findings they are given: filtering, severity overrides, dedupe
// and sorting happen before (pkg/policy), never inside a writer. Evidence is printed as given
// (checks redact it), but no writer prints more than MaxEvidence runes of it.
package report

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/imgharden/imgharden/pkg/finding"
)

// SchemaVersion is the version of the JSON report layout (docs/json-report.md). It follows
// semantic versioning: a new field is a minor bump, a renamed or removed one a major bump.
const SchemaVersion = "1.0.0"

// MaxEvidence is the most evidence, in runes, that any writer prints for one finding. Longer
// evidence is cut and ends with "...". Checks already keep evidence short and redacted; this is
// a second line of defence against a check that puts a whole file body in it.
const MaxEvidence = 200

// Tool names the program that produced the report.
type Tool struct{ Name, Version, InformationURI string }

// Image describes the scanned image.
type Image struct {
	Ref      string // the reference as the user gave it
	Digest   string // manifest digest
	ID       string // config digest
	Platform string // "linux/amd64"
	User     string // config User, "" when unset
}

// Layer describes one layer of the image, base first.
type Layer struct {
	Index     int
	Digest    string // digest of the blob as stored
	DiffID    string // digest of the uncompressed tar
	CreatedBy string // history instruction that made it
}

// Report is everything a writer needs. Findings are already processed and sorted.
type Report struct {
	Tool       Tool
	Image      Image
	Layers     []Layer
	Findings   []finding.Finding // already processed and sorted
	Suppressed int               // how many findings policy suppressed
	Rules      []*finding.Rule   // the catalog, for SARIF tool.driver.rules
}

// Writer writes a report in one format.
type Writer interface {
	Write(w io.Writer, r *Report) error
}

// Option configures a writer.
type Option func(*options)

type options struct {
	color bool
}

// WithColor turns ANSI colour on in the text format (default off). Callers pass whether the
// output is a terminal. The JSON and SARIF writers ignore it.
func WithColor(on bool) Option { return func(o *options) { o.color = on } }

// Formats lists the format names NewWriter accepts.
func Formats() []string { return []string{"text", "json", "sarif"} }

// NewWriter returns the writer for format ("text", "json" or "sarif").
func NewWriter(format string, opts ...Option) (Writer, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	switch format {
	case "text":
		return &textWriter{color: o.color}, nil
	case "json":
		return jsonWriter{}, nil
	case "sarif":
		return sarifWriter{}, nil
	}
	return nil, fmt.Errorf("unknown report format %q (want %s)", format, strings.Join(Formats(), ", "))
}

// evidence cuts s to MaxEvidence runes.
func evidence(s string) string {
	if utf8.RuneCountInString(s) <= MaxEvidence {
		return s
	}
	r := []rune(s)
	return string(r[:MaxEvidence-3]) + "..."
}

// counts returns how many findings have each severity.
func counts(fs []finding.Finding) map[finding.Severity]int {
	c := map[finding.Severity]int{}
	for _, f := range fs {
		c[f.Severity]++
	}
	return c
}

func checkReport(r *Report) error {
	if r == nil {
		return fmt.Errorf("no report to write")
	}
	for i, f := range r.Findings {
		if f.Severity < finding.SeverityInfo || f.Severity > finding.SeverityCritical {
			return fmt.Errorf("finding %d (%s): invalid severity %s", i, f.RuleID, f.Severity)
		}
	}
	return nil
}
