// Package analyze is imgharden's image analysis engine: one streaming pass over the layers of
// a v1.Image, checks that declare what they need, a merged view of the root filesystem, and
// findings stamped with the layer and instruction that produced them.
//
// The engine has no checks of its own; compose it with a check list:
//
//	res, err := analyze.New(analyze.WithChecks(checks.Default()...)).Run(ctx, img)
package analyze

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"

	"github.com/imgharden/imgharden/pkg/finding"
	"github.com/imgharden/imgharden/pkg/secret"
)

// Engine runs checks over images. An Engine is immutable and safe for concurrent use.
type Engine struct {
	fileChecks  []FileCheck
	imageChecks []ImageCheck
	retainers   []Retainer
	checks      []Check
	maxFileSize int64
	retainSize  int64
	concurrency int
	log         *slog.Logger
}

// Option configures an Engine.
type Option func(*Engine)

// WithChecks adds checks. The default is none.
func WithChecks(cs ...Check) Option {
	return func(e *Engine) { e.checks = append(e.checks, cs...) }
}

// WithMaxFileSize caps how much of a file body is read for content checks. Default 8 MiB.
func WithMaxFileSize(n int64) Option { return func(e *Engine) { e.maxFileSize = n } }

// WithRetainSize caps the size of a body kept for View.ReadFile. Default 1 MiB.
func WithRetainSize(n int64) Option { return func(e *Engine) { e.retainSize = n } }

// WithConcurrency sets how many layers are decoded at once. Default: the number of CPUs.
// Layers are always merged base to top, whatever the concurrency.
func WithConcurrency(n int) Option { return func(e *Engine) { e.concurrency = n } }

// WithLogger sets the logger for progress and warnings. Default: discard.
func WithLogger(l *slog.Logger) Option { return func(e *Engine) { e.log = l } }

// New builds an engine.
func New(opts ...Option) *Engine {
	e := &Engine{
		maxFileSize: 8 << 20,
		retainSize:  1 << 20,
		concurrency: runtime.GOMAXPROCS(0),
		log:         slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(e)
	}
	if e.concurrency < 1 {
		e.concurrency = 1
	}
	for _, c := range e.checks {
		if fc, ok := c.(FileCheck); ok {
			e.fileChecks = append(e.fileChecks, fc)
		}
		if ic, ok := c.(ImageCheck); ok {
			e.imageChecks = append(e.imageChecks, ic)
		}
		if r, ok := c.(Retainer); ok {
			e.retainers = append(e.retainers, r)
		}
	}
	return e
}

// Rules lists the rules of the engine's own meta findings and of every check it runs.
func (e *Engine) Rules() []*finding.Rule {
	rules := Rules()
	for _, c := range e.checks {
		rules = append(rules, c.Rules()...)
	}
	return rules
}

// Result is the outcome of one run.
type Result struct {
	Config   *v1.ConfigFile
	Layers   []LayerInfo
	View     *View
	Findings []finding.Finding // raw: before suppression, overrides, dedupe and sorting
}

// LayerError is an I/O or format failure in one layer. The run stops on it.
type LayerError struct {
	Index  int
	Digest string
	Entry  string // tar entry name, when the failure is tied to one
	Err    error
}

func (e *LayerError) Error() string {
	s := fmt.Sprintf("layer %d (%s)", e.Index, e.Digest)
	if e.Entry != "" {
		s += fmt.Sprintf(" entry %q", e.Entry)
	}
	return s + ": " + e.Err.Error()
}

func (e *LayerError) Unwrap() error { return e.Err }

// Run reads the image once and runs every check.
func (e *Engine) Run(ctx context.Context, img v1.Image) (*Result, error) {
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading image config: %w", err)
	}
	if cfg == nil {
		return nil, errors.New("reading image config: image has no config")
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("listing layers: %w", err)
	}
	infos, history := describeLayers(cfg, layers)
	if n := len(cfg.RootFS.DiffIDs); n != len(layers) {
		return nil, fmt.Errorf("image config lists %d diff IDs but the manifest has %d layers", n, len(layers))
	}

	results := make([]*layerResult, len(layers))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.concurrency)
	for i, l := range layers {
		results[i] = &layerResult{index: i}
		g.Go(func() error {
			if err := e.walkLayer(gctx, l, &infos[i], results[i]); err != nil {
				var le *LayerError
				if !errors.As(err, &le) {
					err = &LayerError{Index: i, Digest: infos[i].Digest, Err: err}
				}
				return err
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// Merge base to top: a layer's whiteouts hide what lower layers had, then its entries land.
	v := newView(cfg, infos, history)
	for _, lr := range results {
		for _, d := range lr.opaques {
			v.opaque(d)
		}
		for _, p := range lr.whiteouts {
			v.whiteout(p)
		}
		for _, ent := range lr.entries {
			v.insert(ent)
		}
	}

	v.root.seal()

	rep := &collector{}
	for _, lr := range results {
		rep.items = append(rep.items, lr.found.items...)
	}
	for _, c := range e.imageChecks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := c.CheckImage(ctx, v, rep); err != nil {
			rep.Report(nil, checkFailed(c, "", err))
		}
	}

	out := make([]finding.Finding, 0, len(rep.items))
	for _, it := range rep.items {
		out = append(out, v.stamp(it))
	}
	sort.SliceStable(out, func(i, j int) bool { return finding.Less(out[i], out[j]) })
	return &Result{Config: cfg, Layers: infos, View: v, Findings: out}, nil
}

// stamp completes a finding's location from its entry and the layer table.
func (v *View) stamp(it reported) finding.Finding {
	f := it.f
	if it.e != nil {
		if f.Location.Path == "" {
			f.Location.Path = it.e.Path
		}
		f.Location.LayerIndex = it.e.Layer
		final, ok := v.Lookup(it.e.Path)
		f.Location.Removed = !ok || final != it.e
	}
	if i := f.Location.LayerIndex; i >= 0 && i < len(v.layers) {
		l := v.layers[i]
		if f.Location.LayerDigest == "" {
			f.Location.LayerDigest = l.Digest
		}
		if f.Location.DiffID == "" {
			f.Location.DiffID = l.DiffID
		}
		if f.Location.CreatedBy == "" {
			f.Location.CreatedBy = l.CreatedBy
		}
	}
	return f
}

// describeLayers maps layers to history entries, skipping empty_layer entries. Images without
// history (or with less history than layers) still work: the layers simply have no createdBy.
func describeLayers(cfg *v1.ConfigFile, layers []v1.Layer) ([]LayerInfo, []HistoryEntry) {
	infos := make([]LayerInfo, len(layers))
	for i, l := range layers {
		infos[i].Index = i
		if i < len(cfg.RootFS.DiffIDs) {
			infos[i].DiffID = cfg.RootFS.DiffIDs[i].String()
		}
		infos[i].Digest = layerDigest(l, infos[i].DiffID)
		if mt, err := l.MediaType(); err == nil {
			infos[i].MediaType = string(mt)
		}
	}
	history := make([]HistoryEntry, len(cfg.History))
	li := 0
	for i, h := range cfg.History {
		history[i] = HistoryEntry{History: h, Layer: -1}
		if h.EmptyLayer {
			continue
		}
		if li < len(infos) {
			history[i].Layer = li
			// Build arguments land in history lines (`|1 TOKEN=... /bin/sh -c ...`); the line is
			// stamped on every finding of the layer, so it is redacted once, here.
			infos[li].CreatedBy = secret.RedactInstruction(strings.TrimSpace(h.CreatedBy))
		}
		li++
	}
	return infos, history
}

// StoredDigester is implemented by layers that know the digest of their stored blob without
// reading it (imgharden's archive readers do). Computing a digest for an uncompressed layer
// through ggcr's generic path would gzip the whole layer.
type StoredDigester interface {
	StoredDigest() (v1.Hash, bool)
}

// DiffIDVerifier is implemented by layers whose Uncompressed stream already fails when its
// content does not match the diff ID (imgharden's archive and layout readers). The engine
// hashes the stream itself otherwise.
type DiffIDVerifier interface {
	VerifiesDiffID() bool
}

func verifiesDiffID(l v1.Layer) bool {
	v, ok := l.(DiffIDVerifier)
	return ok && v.VerifiesDiffID()
}

func layerDigest(l v1.Layer, diffID string) string {
	if sd, ok := l.(StoredDigester); ok {
		if h, ok := sd.StoredDigest(); ok {
			return h.String()
		}
	}
	if d, err := l.Digest(); err == nil {
		return d.String()
	}
	return diffID
}

// layerResult is what one layer's walk produced.
type layerResult struct {
	index     int
	entries   []*Entry
	whiteouts []string
	opaques   []string
	found     collector
}

type reported struct {
	e *Entry
	f finding.Finding
}

// collector is a Reporter that appends. One per layer walk, one for image checks: no locks.
type collector struct{ items []reported }

func (c *collector) Report(e *Entry, f finding.Finding) { c.items = append(c.items, reported{e, f}) }
