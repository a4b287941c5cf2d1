package policy

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/imgharden/imgharden/pkg/finding"
)

// Validate checks the config against the rule catalog: every rule it names must exist, a rule
// may be named only once per section (as ID or slug), and a rule cannot be both disabled and
// enabled as experimental.
func (c *Config) Validate(cat *finding.Catalog) error {
	if c == nil {
		return nil
	}
	if cat == nil {
		return fmt.Errorf("policy: no rule catalog to validate against")
	}
	p := &parser{src: c.Source}
	lookup := func(section, name string, line int) (*finding.Rule, error) {
		r, ok := cat.Lookup(name)
		if !ok {
			return nil, &ParseError{Source: p.src, Line: line,
				Msg: fmt.Sprintf("%s: unknown rule %q (run 'imgharden rules' for the list)", section, name)}
		}
		return r, nil
	}
	type seenAt struct {
		name string
		line int
	}
	once := func(section string, seen map[string]seenAt, r *finding.Rule, name string, line int) error {
		if prev, dup := seen[r.ID]; dup {
			return &ParseError{Source: p.src, Line: line, Msg: fmt.Sprintf(
				"%s: %s names rule %s again (already named as %s on line %d)", section, name, r.ID, prev.name, prev.line)}
		}
		seen[r.ID] = seenAt{name, line}
		return nil
	}
	sev := map[string]seenAt{}
	for _, o := range c.Severity {
		r, err := lookup("severity", o.Rule, o.Line)
		if err != nil {
			return err
		}
		if err := once("severity", sev, r, o.Rule, o.Line); err != nil {
			return err
		}
	}
	disabled := map[string]seenAt{}
	for _, d := range c.Disable {
		r, err := lookup("disable", d.Rule, d.Line)
		if err != nil {
			return err
		}
		if err := once("disable", disabled, r, d.Rule, d.Line); err != nil {
			return err
		}
	}
	exp := map[string]seenAt{}
	for _, e := range c.Experimental {
		r, err := lookup("experimental", e.Rule, e.Line)
		if err != nil {
			return err
		}
		if err := once("experimental", exp, r, e.Rule, e.Line); err != nil {
			return err
		}
		if d, ok := disabled[r.ID]; ok {
			return &ParseError{Source: p.src, Line: e.Line, Msg: fmt.Sprintf(
				"experimental: %s is also disabled (as %s on line %d); keep one", e.Rule, d.name, d.line)}
		}
	}
	for i, ig := range c.Ignore {
		if _, err := lookup(fmt.Sprintf("ignore[%d].id", i), ig.ID, ig.Line); err != nil {
			return err
		}
	}
	return nil
}

// Options are the facts Process needs about this run.
type Options struct {
	ImageRef string    // matched against ignore entries' image globs
	Now      time.Time // decides which ignores have expired; zero = time.Now()
	// Catalog tells which rules are experimental: their findings are dropped unless the
	// config enables them. With a nil Catalog no rule is treated as experimental.
	Catalog *finding.Catalog
}

// Result is the processed findings.
type Result struct {
	Findings   []finding.Finding // sorted with finding.Less, deduplicated
	Suppressed int               // dropped by disable or ignore entries
	Warnings   []string          // expired ignores and other things worth telling the user
}

// Process applies the config to findings, in this order: suppress (experimental rules not
// enabled, disabled rules, ignore entries) → severity overrides → dedupe → sort. The input is
// not modified. A nil *Config applies the defaults. Findings of experimental rules that were
// not enabled are dropped without being counted as suppressed: the user never asked for them.
func (c *Config) Process(in []finding.Finding, o Options) Result {
	if c == nil {
		c = &Config{}
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	matches := func(ref string, f finding.Finding) bool {
		if strings.EqualFold(ref, f.RuleID) || f.Slug != "" && strings.EqualFold(ref, f.Slug) {
			return true
		}
		if o.Catalog != nil {
			if r, ok := o.Catalog.Lookup(ref); ok && r.ID == f.RuleID {
				return true
			}
		}
		return false
	}
	anyRef := func(refs []RuleRef, f finding.Finding) bool {
		for _, r := range refs {
			if matches(r.Rule, f) {
				return true
			}
		}
		return false
	}

	var res Result
	// Ignore entries in force for this image.
	var active []Ignore
	for i, ig := range c.Ignore {
		if ig.Expired(now) {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s: ignore[%d] (%s) expired on %s and no longer applies: %s",
				c.where(ig.Line), i, ig.describe(), ig.Expires.Format(time.DateOnly), ig.Reason))
			continue
		}
		if ig.Image != "" && !imageGlob(ig.Image).MatchString(o.ImageRef) {
			continue
		}
		active = append(active, ig)
	}
	if o.Catalog != nil {
		for _, e := range c.Experimental {
			if r, ok := o.Catalog.Lookup(e.Rule); ok && !r.Experimental {
				res.Warnings = append(res.Warnings, fmt.Sprintf("%s: experimental: %s is not an experimental rule; it runs anyway, so the entry can go",
					c.where(e.Line), e.Rule))
			}
		}
	}

	out := make([]finding.Finding, 0, len(in))
	for _, f := range in {
		if o.Catalog != nil {
			if r, ok := o.Catalog.Lookup(f.RuleID); ok && r.Experimental && !anyRef(c.Experimental, f) {
				continue
			}
		}
		if anyRef(c.Disable, f) || ignored(active, f, matches) {
			res.Suppressed++
			continue
		}
		for _, ov := range c.Severity {
			if matches(ov.Rule, f) {
				f.Severity = ov.Severity
			}
		}
		out = append(out, f)
	}

	seen := make(map[string]bool, len(out))
	deduped := out[:0]
	for _, f := range out {
		k := f.String()
		if seen[k] {
			continue
		}
		seen[k] = true
		deduped = append(deduped, f)
	}
	sort.SliceStable(deduped, func(i, j int) bool { return finding.Less(deduped[i], deduped[j]) })
	res.Findings = deduped
	return res
}

func ignored(active []Ignore, f finding.Finding, matches func(string, finding.Finding) bool) bool {
	for _, ig := range active {
		if !matches(ig.ID, f) {
			continue
		}
		if len(ig.Paths) == 0 {
			return true
		}
		for _, p := range ig.Paths {
			if matchPath(p, f.Location.Path) {
				return true
			}
		}
	}
	return false
}

func (ig Ignore) describe() string {
	s := ig.ID
	if len(ig.Paths) > 0 {
		s += " " + strings.Join(ig.Paths, ", ")
	}
	if ig.Image != "" {
		s += " in " + ig.Image
	}
	return s
}

func (c *Config) where(line int) string {
	src := c.Source
	if src == "" {
		src = "policy"
	}
	if line > 0 {
		return fmt.Sprintf("%s:%d", src, line)
	}
	return src
}

// Gate reports whether the run fails: true when a finding is at or above failOn.
// SeverityNone never fails. Any other value below SeverityInfo (such as the zero value)
// fails on any finding, so a forgotten gate errs on the strict side.
func Gate(fs []finding.Finding, failOn finding.Severity) bool {
	if failOn == finding.SeverityNone {
		return false
	}
	for _, f := range fs {
		if f.Severity >= failOn {
			return true
		}
	}
	return false
}
