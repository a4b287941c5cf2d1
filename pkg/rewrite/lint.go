package rewrite

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerui"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// LintError is a rewrite whose output has a buildkit lint warning its input did not have.
type LintError struct{ Warnings []string }

func (e *LintError) Error() string {
	return "the rewritten Dockerfile adds buildkit lint warnings: " + strings.Join(e.Warnings, "; ")
}

// offlineResolver answers buildkit's base-image lookups without a registry: every base is a
// one-layer linux image of the requested platform. Lint rules only need a well-formed config.
type offlineResolver struct{}

func (offlineResolver) ResolveImageConfig(_ context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	p := ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	if opt.ImageOpt != nil && opt.ImageOpt.Platform != nil {
		p = *opt.ImageOpt.Platform
	}
	cfg := ocispecs.Image{Platform: p, RootFS: ocispecs.RootFS{Type: "layers",
		DiffIDs: []digest.Digest{digest.FromString(ref)}}}
	dt, err := json.Marshal(cfg)
	return ref, "", dt, err
}

// Lint runs buildkit's Dockerfile checks (dockerfile2llb.DockerfileLint) offline and returns
// each warning as "RuleName: message" (no line numbers, so two versions of a file compare). A
// build error buildkit's conversion reports comes back as "BuildError: message".
func Lint(ctx context.Context, name string, src []byte) ([]string, error) {
	sm := llb.NewSourceMap(nil, name, "Dockerfile", src)
	sm.Definition = &llb.Definition{}
	res, err := dockerfile2llb.DockerfileLint(ctx, src, dockerfile2llb.ConvertOpt{
		Config:       dockerui.Config{},
		SourceMap:    sm,
		MetaResolver: offlineResolver{},
	})
	if err != nil {
		return nil, fmt.Errorf("buildkit lint: %w", err)
	}
	var out []string
	if res.Error != nil {
		// An error the input already has is not one the rewrite added; compare it like a warning.
		out = append(out, "BuildError: "+res.Error.Message)
	}
	for _, w := range res.Warnings {
		out = append(out, w.RuleName+": "+w.Detail)
	}
	sort.Strings(out)
	return out, nil
}

// LintAdded returns the lint warnings of after that before does not have (as a multiset).
func LintAdded(ctx context.Context, name string, before, after []byte) ([]string, error) {
	b, err := Lint(ctx, name, before)
	if err != nil {
		return nil, err
	}
	a, err := Lint(ctx, name, after)
	if err != nil {
		return nil, err
	}
	have := map[string]int{}
	for _, w := range b {
		have[w]++
	}
	var added []string
	for _, w := range a {
		if have[w] > 0 {
			have[w]--
			continue
		}
		added = append(added, w)
	}
	return added, nil
}
