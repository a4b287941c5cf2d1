package checks

import (
	"context"
	"errors"

	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
)

// RuleUnsafeSymlink reports symlinks that loop or climb above the image root.
var RuleUnsafeSymlink = &finding.Rule{
	ID: "IH1012", Slug: "unsafe-symlink", Title: "Symbolic link loops or leaves the image root",
	Severity: finding.SeverityLow, Category: finding.CategoryImageFS,
	Description: "Resolving a symbolic link of the final root filesystem inside the image either never ends (a loop, " +
		"more than 40 links deep) or climbs above the root with '..'. A container runtime clamps '..' at the root, " +
		"but tools that extract or inspect the image on a host can be led outside their target directory, and a " +
		"loop makes them spin or fail. imgharden never follows such links. Dangling links are not reported.",
	Remediation: "Fix the link target in the build (ln -sf with a path that stays inside the image) or remove the link.",
	Refs:        []string{"ecs:R6"},
}

type unsafeSymlink struct{}

func (unsafeSymlink) Rules() []*finding.Rule { return []*finding.Rule{RuleUnsafeSymlink} }

func (unsafeSymlink) CheckImage(_ context.Context, v *analyze.View, r analyze.Reporter) error {
	for _, e := range entries(v) {
		if !e.IsSymlink() {
			continue
		}
		_, err := v.Resolve(e.Path)
		var what string
		switch {
		case errors.Is(err, analyze.ErrLinkLoop):
			what = "never resolves (a symlink loop)"
		case errors.Is(err, analyze.ErrLinkEscape):
			what = "climbs above the image root"
		default:
			continue
		}
		r.Report(e, finding.New(RuleUnsafeSymlink, finding.Location{},
			"symlink "+e.Path+" -> "+e.Linkname+" "+what+"; it was not followed", "-> "+e.Linkname))
	}
	return nil
}
