package policy

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
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
	rs := newResolver(o.Catalog)
	disabled := rs.set(refs(c.Disable)...)
	experimental := rs.set(refs(c.Experimental)...)

	var res Result
	// Ignore entries in force for this image, with their globs split once.
	var active []compiledIgnore
	for i, ig := range c.Ignore {
		if ig.Expired(now) {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s: ignore[%d] (%s) expired on %s and no longer applies: %s",
				c.where(ig.Line), i, ig.describe(), ig.Expires.Format(time.DateOnly), ig.Reason))
			continue
		}
		if ig.Image != "" && !imageGlob(ig.Image).MatchString(o.ImageRef) {
			continue
		}
		ci := compiledIgnore{rules: rs.set(ig.ID)}
		for _, p := range ig.Paths {
			ci.globs = append(ci.globs, splitGlob(p))
		}
		active = append(active, ci)
	}
	if o.Catalog != nil {
		for _, e := range c.Experimental {
			if r, ok := o.Catalog.Lookup(e.Rule); ok && !r.Experimental {
				res.Warnings = append(res.Warnings, fmt.Sprintf("%s: experimental: %s is not an experimental rule; it runs anyway, so the entry can go",
					c.where(e.Line), e.Rule))
			}
		}
	}
	type override struct {
		rules    ruleSet
		severity finding.Severity
	}
	var overrides []override
	for _, ov := range c.Severity {
		overrides = append(overrides, override{rs.set(ov.Rule), ov.Severity})
	}

	out := make([]finding.Finding, 0, len(in))
	for _, f := range in {
		k := keyOf(f)
		if r := rs.rule(f.RuleID); r != nil && r.Experimental && !experimental.has(k) {
			continue
		}
		if disabled.has(k) || ignored(active, f, k) {
			res.Suppressed++
			continue
		}
		for _, ov := range overrides {
			if ov.rules.has(k) {
				f.Severity = ov.severity
			}
		}
		out = append(out, f)
	}

	seen := make(map[string]bool, len(out))
	deduped := out[:0]
	for _, f := range out {
		key := dedupeKey(f)
		if seen[key] {
			continue
		}
		seen[key] = true
		deduped = append(deduped, f)
	}
	slices.SortStableFunc(deduped, func(a, b finding.Finding) int {
		switch {
		case finding.Less(a, b):
			return -1
		case finding.Less(b, a):
			return 1
		}
		return 0
	})
	res.Findings = deduped
	return res
}

type compiledIgnore struct {
	rules ruleSet
	globs [][]string // split path globs; none = every location
}

func ignored(active []compiledIgnore, f finding.Finding, k ruleKey) bool {
	var segs []string
	for _, ig := range active {
		if !ig.rules.has(k) {
			continue
		}
		if len(ig.globs) == 0 {
			return true
		}
		if f.Location.Path == "" {
			continue
		}
		if segs == nil {
			segs = pathSegs(f.Location.Path)
		}
		for _, g := range ig.globs {
			if matchSegs(g, segs) {
				return true
			}
		}
	}
	return false
}

// resolver maps rule names from the config (ID or slug, any case) to the lower-cased keys a
// finding can match: the name itself and, when the catalog knows it, the rule's ID and slug.
type resolver struct {
	cat   *finding.Catalog
	rules map[string]*finding.Rule // by finding RuleID, cached catalog lookups
}

func newResolver(cat *finding.Catalog) *resolver {
	return &resolver{cat: cat, rules: map[string]*finding.Rule{}}
}

// rule returns the catalog's rule for a finding's RuleID, or nil.
func (rs *resolver) rule(id string) *finding.Rule {
	if rs.cat == nil {
		return nil
	}
	r, ok := rs.rules[id]
	if !ok {
		r, _ = rs.cat.Lookup(id)
		rs.rules[id] = r
	}
	return r
}

// ruleSet holds lower-cased rule IDs and slugs.
type ruleSet map[string]bool

func (rs *resolver) set(names ...string) ruleSet {
	s := ruleSet{}
	for _, n := range names {
		s[strings.ToLower(n)] = true
		if rs.cat != nil {
			if r, ok := rs.cat.Lookup(n); ok {
				s[strings.ToLower(r.ID)] = true
				s[strings.ToLower(r.Slug)] = true
			}
		}
	}
	return s
}

// ruleKey is a finding's rule ID and slug, lower-cased once.
type ruleKey struct{ id, slug string }

func keyOf(f finding.Finding) ruleKey {
	return ruleKey{strings.ToLower(f.RuleID), strings.ToLower(f.Slug)}
}

func (s ruleSet) has(k ruleKey) bool {
	if len(s) == 0 {
		return false
	}
	return s[k.id] || k.slug != "" && s[k.slug]
}

func refs(rs []RuleRef) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Rule
	}
	return out
}

// dedupeKey identifies a finding by all its fields: only exact duplicates are merged.
func dedupeKey(f finding.Finding) string {
	l := f.Location
	var b strings.Builder
	for _, s := range []string{f.RuleID, f.Slug, f.Title, f.Severity.String(), f.Message, f.Evidence,
		l.Path, strconv.Itoa(l.Line), l.Env, l.Label, strconv.Itoa(l.LayerIndex), l.LayerDigest, l.DiffID,
		l.CreatedBy, strconv.FormatBool(l.Removed)} {
		field(&b, s)
	}
	for _, k := range slices.Sorted(maps.Keys(f.Details)) {
		field(&b, k)
		field(&b, f.Details[k])
	}
	return b.String()
}

// field writes s length-prefixed, so no two field lists share an encoding.
func field(b *strings.Builder, s string) {
	b.WriteString(strconv.Itoa(len(s)))
	b.WriteByte(':')
	b.WriteString(s)
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
