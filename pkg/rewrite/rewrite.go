// Package rewrite turns a Dockerfile into a hardened one, and an image into a minimal scratch
// rebuild of what its entrypoint needs.
//
// Dockerfiles are parsed with buildkit's own parser and instruction decoder. The parser keeps
// no layout, so edits are made on the original text by line range: every instruction, comment,
// heredoc, directive and line continuation that no rule touches comes out byte for byte. Each
// edit belongs to a rule of the catalog's Dockerfile range (IH3xxx, see Rules); what a rule
// cannot fix is reported as a finding. Rewriting an output again changes nothing.
package rewrite

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/imgharden/imgharden/pkg/finding"
)

// Rewriter rewrites Dockerfiles. The zero value is not usable; call New.
type Rewriter struct {
	resolve DigestResolver
	pin     bool
	lint    bool
	image   *Image
	log     *slog.Logger
}

// Option configures a Rewriter.
type Option func(*Rewriter)

// WithDigestResolver sets how base images are pinned. Default: RemoteResolver() (ggcr remote,
// the default keychain, plain HTTP for loopback registries).
func WithDigestResolver(r DigestResolver) Option { return func(rw *Rewriter) { rw.resolve = r } }

// WithPinning turns digest pinning of base images on or off. Default: on. Off, unpinned bases
// are only reported.
func WithPinning(on bool) Option { return func(rw *Rewriter) { rw.pin = on } }

// WithLint turns the buildkit lint comparison of input and output on or off. Default: on.
func WithLint(on bool) Option { return func(rw *Rewriter) { rw.lint = on } }

// WithImage gives the image the Dockerfile builds (as built before hardening). Rules then use
// what is really in it: the files the entrypoint needs, whether the base has a shell or a
// toolchain. Default: none, the rules work from the Dockerfile text alone.
func WithImage(img *Image) Option { return func(rw *Rewriter) { rw.image = img } }

// WithLogger sets the logger for progress messages. Default: discard.
func WithLogger(l *slog.Logger) Option { return func(rw *Rewriter) { rw.log = l } }

// New builds a Rewriter.
func New(opts ...Option) *Rewriter {
	rw := &Rewriter{pin: true, lint: true, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, o := range opts {
		o(rw)
	}
	if rw.resolve == nil {
		rw.resolve = RemoteResolver()
	}
	return rw
}

// Change is one edit the rewrite made.
type Change struct {
	Rule    *finding.Rule
	Line    int    // line of the input the change is about
	Summary string // what was done
}

// Result is a rewritten Dockerfile.
type Result struct {
	Output   []byte
	Changes  []Change
	Findings []finding.Finding // what the rules could not fix
}

// Changed reports whether the output differs from the input.
func (r *Result) Changed() bool { return len(r.Changes) > 0 }

// state is one Rewrite call: the options plus what earlier passes decided.
type state struct {
	*Rewriter
	split bool // splitStages made the final stage: image facts describe the builder, not it
}

// pass is one rule's detection and fix over the current text.
type pass struct {
	rule *finding.Rule
	run  func(ctx context.Context, st *state, d *doc) ([]edit, []note, error)
}

// note is a finding before its line is mapped back to the input.
type note struct {
	rule *finding.Rule
	line int // current numbering
	msg  string
	ev   string
}

// passes run in this order; each sees the text the previous ones produced. Splitting into a
// builder and a final stage comes before the rules about the final stage, and pinning comes
// last so it also pins the FROM lines the others add.
func passes() []pass {
	return []pass{
		{RuleAddLocal, addToCopy},
		{RuleAptRecommends, aptNoRecommends},
		{RuleAptLists, aptListsCleanup},
		{RuleShellForm, jsonForm},
		{RuleSingleStage, splitStages},
		{RuleSetuid, stripSetuid},
		{RuleRootUser, nonRootUser},
		{RulePinBase, pinBase},
	}
}

// Rules is the Dockerfile rule catalog of this package, sorted by ID.
func Rules() []*finding.Rule {
	return []*finding.Rule{RuleRootUser, RulePinBase, RuleAddLocal, RuleAptRecommends, RuleAptLists,
		RuleShellForm, RuleSingleStage, RuleSetuid, RuleInterpreted}
}

// Rewrite hardens the Dockerfile src; name is used in messages and finding locations. A
// Dockerfile buildkit cannot parse gives a *ParseError.
func (rw *Rewriter) Rewrite(ctx context.Context, name string, src []byte) (*Result, error) {
	d, err := parseDoc(name, src)
	if err != nil {
		return nil, err
	}
	lines := d.lines
	origin := make([]int, len(lines))
	for i := range origin {
		origin[i] = i + 1
	}
	res := &Result{}
	st := &state{Rewriter: rw}
	for _, p := range passes() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		edits, notes, err := p.run(ctx, st, d)
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", p.rule.ID, p.rule.Slug, err)
		}
		mapLine := func(l int) int {
			if l >= 1 && l <= len(origin) {
				return origin[l-1]
			}
			return 0
		}
		for _, n := range notes {
			loc := finding.Location{Path: name, Line: mapLine(n.line), LayerIndex: -1}
			res.Findings = append(res.Findings, finding.New(n.rule, loc, n.msg, n.ev))
		}
		if len(edits) == 0 {
			continue
		}
		for _, e := range edits {
			res.Changes = append(res.Changes, Change{Rule: e.rule, Line: mapLine(e.anchor), Summary: e.summary})
		}
		lines, origin, err = apply(lines, origin, d.eol, edits)
		if err != nil {
			return nil, err
		}
		if d, err = parseDoc(name, []byte(strings.Join(lines, ""))); err != nil {
			return nil, fmt.Errorf("%s produced a Dockerfile buildkit cannot parse: %w", p.rule.ID, err)
		}
	}
	res.Output = []byte(strings.Join(lines, ""))
	if rw.lint {
		added, err := LintAdded(ctx, name, src, res.Output)
		if err != nil {
			return nil, err
		}
		if len(added) > 0 {
			return nil, &LintError{Warnings: added}
		}
	}
	return res, nil
}
