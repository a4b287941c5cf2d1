// Package policy reads .imgharden.yaml and applies it to findings: the processors that run
// between the engine and the writers (suppress → severity overrides → dedupe → sort), and the
// --fail-on gate.
//
// The file:
//
//	severity: {IH1002: low, shell-binary: info}   # override default severities (ID or slug)
//	disable: [IH2002]                              # drop every finding of these rules
//	experimental: [IH1007]                         # turn on rules marked experimental
//	ignore:
//	  - id: IH1001                                 # rule ID or slug (required)
//	    paths: ["/usr/bin/passwd", "/usr/lib/**"]  # path globs; none = every location
//	    image: "registry.example.com/app*"         # image reference glob; none = every image
//	    reason: passwd needs setuid in this appliance  # required
//	    expires: 2027-01-31                        # optional; applies through that day (UTC)
//
// Decoding is strict: unknown keys, repeated keys, wrong types, bad rule IDs, bad globs, bad
// dates, an unknown severity and a missing reason are errors naming the file and line.
package policy

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/imgharden/imgharden/pkg/finding"
	"go.yaml.in/yaml/v3"
)

// DefaultFile is the policy file the CLI reads when --config is not given and it exists.
const DefaultFile = ".imgharden.yaml"

// Config is a parsed policy file. The zero value and a nil *Config are the defaults: no
// overrides, nothing disabled, no experimental rules, no ignores.
type Config struct {
	Source       string     // file it was read from, for messages ("" when built in code)
	Severity     []Override // in file order
	Disable      []RuleRef
	Experimental []RuleRef
	Ignore       []Ignore
}

// RuleRef names a rule by ID or slug, as written in the file.
type RuleRef struct {
	Rule string
	Line int // line in the file, 0 when built in code
}

// Override sets the severity of every finding of a rule.
type Override struct {
	Rule     string // ID or slug
	Severity finding.Severity
	Line     int
}

// Ignore suppresses the findings of one rule at some paths, optionally for some images only,
// until it expires.
type Ignore struct {
	ID      string    // rule ID or slug
	Paths   []string  // globs on the finding path ("**" spans directories); empty = any location
	Image   string    // glob on the image reference ("*" spans anything); empty = any image
	Reason  string    // why; required
	Expires time.Time // last day the entry applies (UTC); zero = never expires
	Line    int
}

// Expired reports whether the entry no longer applies at now: it applies through the whole
// day named in expires, UTC.
func (ig Ignore) Expired(now time.Time) bool {
	return !ig.Expires.IsZero() && !now.UTC().Before(ig.Expires.AddDate(0, 0, 1))
}

// ParseError is a problem in a policy file, at a line.
type ParseError struct {
	Source string
	Line   int
	Msg    string
}

func (e *ParseError) Error() string {
	src := e.Source
	if src == "" {
		src = "policy"
	}
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", src, e.Line, e.Msg)
	}
	return src + ": " + e.Msg
}

// Load reads and parses the policy file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading policy: %w", err)
	}
	return Parse(data, path)
}

var (
	idRE      = regexp.MustCompile(`^(?i)IH[0-9]{4}$`)
	idishRE   = regexp.MustCompile(`^(?i)IH[0-9]*$`)
	slugRE    = regexp.MustCompile(`^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$`)
	dateRE    = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
	topKeys   = []string{"severity", "disable", "experimental", "ignore"}
	ignoreKey = []string{"id", "paths", "image", "reason", "expires"}
)

// Parse reads a policy document; source names it in errors.
func Parse(data []byte, source string) (*Config, error) {
	p := &parser{src: source}
	c := &Config{Source: source}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return c, nil // empty file: defaults
		}
		return nil, p.yamlErr(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, p.errf(&extra, "a policy file holds one YAML document; found another")
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return c, nil
		}
		root = root.Content[0]
	}
	root = deref(root)
	if isNull(root) {
		return c, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, p.errf(root, "want a mapping with keys %s, got %s", strings.Join(topKeys, ", "), kind(root))
	}
	err := p.mapping(root, "", topKeys, func(key string, k, v *yaml.Node) error {
		switch key {
		case "severity":
			return p.severity(c, v)
		case "disable":
			refs, err := p.ruleList(v, "disable")
			c.Disable = refs
			return err
		case "experimental":
			refs, err := p.ruleList(v, "experimental")
			c.Experimental = refs
			return err
		case "ignore":
			return p.ignores(c, v)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

type parser struct{ src string }

func (p *parser) errf(n *yaml.Node, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &ParseError{Source: p.src, Line: line, Msg: fmt.Sprintf(format, args...)}
}

var yamlLineRE = regexp.MustCompile(`^yaml: line ([0-9]+): (.*)$`)

// yamlErr turns the YAML library's syntax errors into ParseErrors with a line.
func (p *parser) yamlErr(err error) error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		var line int
		fmt.Sscanf(m[1], "%d", &line)
		return &ParseError{Source: p.src, Line: line, Msg: "invalid YAML: " + m[2]}
	}
	return &ParseError{Source: p.src, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// mapping walks a mapping node, rejecting unknown and repeated keys.
func (p *parser) mapping(n *yaml.Node, where string, allowed []string, fn func(key string, k, v *yaml.Node) error) error {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			return p.errf(k, "%skeys must be plain names", where)
		}
		if k.Value == "<<" {
			return p.errf(k, "%smerge keys (<<) are not supported", where)
		}
		if prev, dup := seen[k.Value]; dup {
			return p.errf(k, "%skey %q repeats the one on line %d", where, k.Value, prev)
		}
		seen[k.Value] = k.Line
		if !contains(allowed, k.Value) {
			return p.errf(k, "%sunknown key %q (want %s)", where, k.Value, strings.Join(allowed, ", "))
		}
		if err := fn(k.Value, k, v); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) severity(c *Config, v *yaml.Node) error {
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		return p.errf(v, "severity: want a mapping of rule ID or slug to severity, got %s", kind(v))
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], deref(v.Content[i+1])
		if err := p.ruleName(k, "severity"); err != nil {
			return err
		}
		if prev, dup := seen[strings.ToLower(k.Value)]; dup {
			return p.errf(k, "severity: %s repeats the entry on line %d", k.Value, prev)
		}
		seen[strings.ToLower(k.Value)] = k.Line
		if val.Kind != yaml.ScalarNode {
			return p.errf(val, "severity: %s: want a severity name, got %s", k.Value, kind(val))
		}
		s, err := finding.ParseSeverity(val.Value)
		if err != nil || s == finding.SeverityNone {
			return p.errf(val, "severity: %s: unknown severity %q (want info, low, medium, high or critical; use disable to turn a rule off)", k.Value, val.Value)
		}
		c.Severity = append(c.Severity, Override{Rule: k.Value, Severity: s, Line: k.Line})
	}
	return nil
}

func (p *parser) ruleList(v *yaml.Node, key string) ([]RuleRef, error) {
	if isNull(v) {
		return nil, nil
	}
	if v.Kind != yaml.SequenceNode {
		return nil, p.errf(v, "%s: want a list of rule IDs or slugs, got %s", key, kind(v))
	}
	var refs []RuleRef
	seen := map[string]int{}
	for _, item := range v.Content {
		item = deref(item)
		if err := p.ruleName(item, key); err != nil {
			return nil, err
		}
		if prev, dup := seen[strings.ToLower(item.Value)]; dup {
			return nil, p.errf(item, "%s: %s is already listed on line %d", key, item.Value, prev)
		}
		seen[strings.ToLower(item.Value)] = item.Line
		refs = append(refs, RuleRef{Rule: item.Value, Line: item.Line})
	}
	return refs, nil
}

// ruleName checks that a scalar is a well-formed rule ID or slug. Whether the rule exists is
// Validate's job.
func (p *parser) ruleName(n *yaml.Node, where string) error {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return p.errf(n, "%s: want a rule ID or slug, got %s", where, kind(n))
	}
	v := n.Value
	switch {
	case idRE.MatchString(v):
		return nil
	case idishRE.MatchString(v):
		return p.errf(n, "%s: bad rule ID %q (want IH and four digits, like IH1001)", where, v)
	case slugRE.MatchString(v):
		return nil
	}
	return p.errf(n, "%s: %q is neither a rule ID (IH1001) nor a slug (setuid-binary)", where, v)
}

func (p *parser) ignores(c *Config, v *yaml.Node) error {
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		return p.errf(v, "ignore: want a list of entries, got %s", kind(v))
	}
	for i, item := range v.Content {
		item = deref(item)
		where := fmt.Sprintf("ignore[%d]: ", i)
		if item.Kind != yaml.MappingNode {
			return p.errf(item, "%swant a mapping with keys %s, got %s", where, strings.Join(ignoreKey, ", "), kind(item))
		}
		ig := Ignore{Line: item.Line}
		err := p.mapping(item, where, ignoreKey, func(key string, k, val *yaml.Node) error {
			switch key {
			case "id":
				if err := p.ruleName(val, strings.TrimSuffix(where, ": ")+".id"); err != nil {
					return err
				}
				ig.ID = val.Value
			case "paths":
				paths, err := p.paths(val, where)
				ig.Paths = paths
				return err
			case "image":
				if val.Kind != yaml.ScalarNode || val.Tag == "!!null" || strings.TrimSpace(val.Value) == "" {
					return p.errf(val, "%simage: want a non-empty image reference glob", where)
				}
				ig.Image = val.Value
			case "reason":
				if val.Kind != yaml.ScalarNode || val.Tag == "!!null" || strings.TrimSpace(val.Value) == "" {
					return p.errf(val, "%sreason: want a non-empty explanation", where)
				}
				ig.Reason = strings.TrimSpace(val.Value)
			case "expires":
				if val.Kind != yaml.ScalarNode || !dateRE.MatchString(val.Value) {
					return p.errf(val, "%sexpires: want a date like 2027-01-31, got %q", where, val.Value)
				}
				t, err := time.Parse(time.DateOnly, val.Value)
				if err != nil {
					return p.errf(val, "%sexpires: %q is not a valid date", where, val.Value)
				}
				ig.Expires = t
			}
			return nil
		})
		if err != nil {
			return err
		}
		if ig.ID == "" {
			return p.errf(item, "%sid is required (the rule ID or slug to ignore)", where)
		}
		if ig.Reason == "" {
			return p.errf(item, "%sreason is required: say why %s is acceptable here", where, ig.ID)
		}
		c.Ignore = append(c.Ignore, ig)
	}
	return nil
}

func (p *parser) paths(v *yaml.Node, where string) ([]string, error) {
	var items []*yaml.Node
	switch {
	case v.Kind == yaml.SequenceNode:
		items = v.Content
	default:
		return nil, p.errf(v, "%spaths: want a list of path globs, got %s", where, kind(v))
	}
	if len(items) == 0 {
		return nil, p.errf(v, "%spaths: the list is empty; leave paths out to match every location", where)
	}
	var out []string
	for _, item := range items {
		item = deref(item)
		if item.Kind != yaml.ScalarNode || item.Tag == "!!null" {
			return nil, p.errf(item, "%spaths: want a path glob, got %s", where, kind(item))
		}
		if err := checkPathGlob(item.Value); err != nil {
			return nil, p.errf(item, "%spaths: %q: %v", where, item.Value, err)
		}
		out = append(out, item.Value)
	}
	return out, nil
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
