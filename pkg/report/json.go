package report

import (
	"encoding/json"
	"io"

	"github.com/imgharden/imgharden/pkg/finding"
)

// The JSON layout is documented in docs/json-report.md and docs/report.schema.json. Every
// field is always present (empty string, 0, false, [] or {} when it does not apply), so
// consumers never need to tell a missing key from an empty one. Field order is fixed by these
// structs; findings keep the order they were given in (policy sorts them).

type jsonReport struct {
	SchemaVersion string        `json:"schemaVersion"`
	Tool          jsonTool      `json:"tool"`
	Image         jsonImage     `json:"image"`
	Layers        []jsonLayer   `json:"layers"`
	Findings      []jsonFinding `json:"findings"`
	Summary       jsonSummary   `json:"summary"`
}

type jsonTool struct {
	Name           string `json:"name"`
	Version        string `json:"version"`
	InformationURI string `json:"informationUri"`
}

type jsonImage struct {
	Ref      string `json:"ref"`
	Digest   string `json:"digest"`
	ID       string `json:"id"`
	Platform string `json:"platform"`
	User     string `json:"user"`
}

type jsonLayer struct {
	Index     int    `json:"index"`
	Digest    string `json:"digest"`
	DiffID    string `json:"diffID"`
	CreatedBy string `json:"createdBy"`
}

type jsonFinding struct {
	RuleID      string            `json:"ruleID"`
	Slug        string            `json:"slug"`
	Title       string            `json:"title"`
	Severity    string            `json:"severity"`
	Message     string            `json:"message"`
	Location    jsonLocation      `json:"location"`
	Evidence    string            `json:"evidence"`
	Details     map[string]string `json:"details"`
	Fingerprint string            `json:"fingerprint"`
}

type jsonLocation struct {
	Path        string `json:"path"`
	Line        int    `json:"line"`
	Env         string `json:"env"`
	Label       string `json:"label"`
	LayerIndex  int    `json:"layerIndex"`
	LayerDigest string `json:"layerDigest"`
	DiffID      string `json:"diffID"`
	CreatedBy   string `json:"createdBy"`
	Removed     bool   `json:"removed"`
}

type jsonSummary struct {
	Total      int `json:"total"`
	Critical   int `json:"critical"`
	High       int `json:"high"`
	Medium     int `json:"medium"`
	Low        int `json:"low"`
	Info       int `json:"info"`
	Suppressed int `json:"suppressed"`
}

type jsonWriter struct{}

func (jsonWriter) Write(w io.Writer, r *Report) error {
	if err := checkReport(r); err != nil {
		return err
	}
	out := jsonReport{
		SchemaVersion: SchemaVersion,
		Tool:          jsonTool{Name: r.Tool.Name, Version: r.Tool.Version, InformationURI: r.Tool.InformationURI},
		Image: jsonImage{Ref: r.Image.Ref, Digest: r.Image.Digest, ID: r.Image.ID,
			Platform: r.Image.Platform, User: r.Image.User},
		Layers:   make([]jsonLayer, 0, len(r.Layers)),
		Findings: make([]jsonFinding, 0, len(r.Findings)),
	}
	for _, l := range r.Layers {
		out.Layers = append(out.Layers, jsonLayer{Index: l.Index, Digest: l.Digest, DiffID: l.DiffID, CreatedBy: l.CreatedBy})
	}
	for _, f := range r.Findings {
		details := map[string]string{}
		for k, v := range f.Details {
			details[k] = v
		}
		loc := f.Location
		out.Findings = append(out.Findings, jsonFinding{
			RuleID: f.RuleID, Slug: f.Slug, Title: f.Title, Severity: f.Severity.String(),
			Message: f.Message,
			Location: jsonLocation{Path: loc.Path, Line: loc.Line, Env: loc.Env, Label: loc.Label,
				LayerIndex: loc.LayerIndex, LayerDigest: loc.LayerDigest, DiffID: loc.DiffID,
				CreatedBy: loc.CreatedBy, Removed: loc.Removed},
			Evidence:    evidence(f.Evidence),
			Details:     details,
			Fingerprint: f.Fingerprint(),
		})
	}
	c := counts(r.Findings)
	out.Summary = jsonSummary{Total: len(r.Findings),
		Critical: c[finding.SeverityCritical], High: c[finding.SeverityHigh],
		Medium: c[finding.SeverityMedium], Low: c[finding.SeverityLow], Info: c[finding.SeverityInfo],
		Suppressed: r.Suppressed}
	return encodeJSON(w, out)
}

// encodeJSON writes v indented, without HTML escaping: createdBy lines are full of "&&" and
// "<" and nobody embeds this output in HTML.
func encodeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
