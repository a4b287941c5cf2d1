// Package finding holds the types every imgharden analyzer, writer and gate shares: rules,
// severities, locations and findings. It is the leaf of the import graph (standard library only).
package finding

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// DocBase is where the rule pages live; a rule's page is DocBase + ID + ".md".
const DocBase = "https://github.com/imgharden/imgharden/blob/main/docs/rules/"

// Severity orders findings and drives the --fail-on gate.
type Severity int

// Severities, lowest first. SeverityNone is only meaningful as a gate ("never fail").
const (
	SeverityInfo Severity = iota + 1
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
	SeverityNone Severity = 100
)

var severityNames = map[Severity]string{
	SeverityInfo: "info", SeverityLow: "low", SeverityMedium: "medium",
	SeverityHigh: "high", SeverityCritical: "critical", SeverityNone: "none",
}

// Severities lists the severities a finding can have, lowest first.
func Severities() []Severity {
	return []Severity{SeverityInfo, SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}
}

func (s Severity) String() string {
	if n, ok := severityNames[s]; ok {
		return n
	}
	return "Severity(" + strconv.Itoa(int(s)) + ")"
}

// ParseSeverity reads a severity name (case-insensitive). "none" is accepted for gates.
func ParseSeverity(s string) (Severity, error) {
	for k, v := range severityNames {
		if strings.EqualFold(s, v) {
			return k, nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want info, low, medium, high, critical or none)", s)
}

// MarshalText writes the severity as its lowercase name.
func (s Severity) MarshalText() ([]byte, error) {
	if _, ok := severityNames[s]; !ok {
		return nil, fmt.Errorf("invalid severity %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText reads a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Category groups rules; it is the first digit of a rule ID.
type Category int

// Categories, matching the first digit after "IH" in rule IDs.
const (
	CategoryMeta     Category = 0 // IH0xxx: the tool itself (a check failed, input unparsable)
	CategoryImageFS  Category = 1 // IH1xxx: files in the image
	CategoryConfig   Category = 2 // IH2xxx: image config and history
	CategoryDocker   Category = 3 // IH3xxx: Dockerfile
	CategorySecret   Category = 4 // IH4xxx: secret content patterns
	CategoryRegistry Category = 5 // IH5xxx: registry and promotion
)

var categoryNames = map[Category]string{
	CategoryMeta: "meta", CategoryImageFS: "image-filesystem", CategoryConfig: "image-config",
	CategoryDocker: "dockerfile", CategorySecret: "secret", CategoryRegistry: "registry",
}

func (c Category) String() string {
	if n, ok := categoryNames[c]; ok {
		return n
	}
	return "Category(" + strconv.Itoa(int(c)) + ")"
}

// MarshalText writes the category name.
func (c Category) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// Rule is the metadata of one check result kind. Declare rules next to the code that emits them.
type Rule struct {
	ID           string   // "IH1001"; never renumbered or reused
	Slug         string   // "setuid-binary"; accepted wherever an ID is
	Title        string   // one line, no trailing period
	Severity     Severity // default severity; config may override
	Category     Category
	Description  string   // what the rule looks for and why it matters (a paragraph)
	Remediation  string   // how to fix it
	Refs         []string // "ecs:R4", "cis-docker:4.8"
	Experimental bool
	Deprecated   bool
}

// DocURL is the rule's documentation page.
func (r *Rule) DocURL() string { return DocBase + r.ID + ".md" }

// Location says where a finding is: a path in an image layer, a config field, or a file line.
type Location struct {
	Path        string `json:"path,omitempty"`        // "/usr/bin/su", or "Dockerfile" for Dockerfile findings
	Line        int    `json:"line,omitempty"`        // 1-based line in the file (Dockerfile, or the file holding a secret)
	Env         string `json:"env,omitempty"`         // variable name for ENV findings
	Label       string `json:"label,omitempty"`       // label key for label findings
	LayerIndex  int    `json:"layerIndex"`            // 0-based layer; -1 = image config
	LayerDigest string `json:"layerDigest,omitempty"` // digest of the layer blob as stored
	DiffID      string `json:"diffID,omitempty"`      // digest of the uncompressed layer tar
	CreatedBy   string `json:"createdBy,omitempty"`   // the history instruction that made the layer
	Removed     bool   `json:"removed"`               // in a layer blob, but removed or overwritten by a later layer
}

// ConfigLocation is the location of findings about the image config itself.
func ConfigLocation() Location { return Location{LayerIndex: -1} }

// Finding is one result of one rule.
type Finding struct {
	RuleID   string            `json:"ruleID"`
	Slug     string            `json:"slug"`
	Title    string            `json:"title"`
	Severity Severity          `json:"severity"` // effective, after overrides
	Message  string            `json:"message"`
	Location Location          `json:"location"`
	Evidence string            `json:"evidence,omitempty"` // always redacted
	Details  map[string]string `json:"details,omitempty"`  // rule-specific facts (e.g. "new": "true")
}

// New builds a finding for rule r with the rule's default severity.
func New(r *Rule, loc Location, message, evidence string) Finding {
	return Finding{RuleID: r.ID, Slug: r.Slug, Title: r.Title, Severity: r.Severity,
		Message: message, Location: loc, Evidence: evidence}
}

// Fingerprint identifies a finding across runs: the rule, what it is about and where, but not
// the layer digest (the same file in a rebuilt layer is the same finding) nor the message.
func (f Finding) Fingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%d\x00%s\x00%t", f.RuleID, f.Location.Path,
		f.Location.Env, f.Location.Label, f.Location.Line, f.Evidence, f.Location.Removed)
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// Less orders findings: severity descending, then rule ID, path, env, label, layer, line, message.
func Less(a, b Finding) bool {
	if a.Severity != b.Severity {
		return a.Severity > b.Severity
	}
	if a.RuleID != b.RuleID {
		return a.RuleID < b.RuleID
	}
	if a.Location.Path != b.Location.Path {
		return a.Location.Path < b.Location.Path
	}
	if a.Location.Env != b.Location.Env {
		return a.Location.Env < b.Location.Env
	}
	if a.Location.Label != b.Location.Label {
		return a.Location.Label < b.Location.Label
	}
	if a.Location.LayerIndex != b.Location.LayerIndex {
		return a.Location.LayerIndex < b.Location.LayerIndex
	}
	if a.Location.Line != b.Location.Line {
		return a.Location.Line < b.Location.Line
	}
	if a.Message != b.Message {
		return a.Message < b.Message
	}
	return a.Evidence < b.Evidence
}

// String is a compact one-line form, for logs and test failures.
func (f Finding) String() string {
	b, _ := json.Marshal(f)
	return string(b)
}
