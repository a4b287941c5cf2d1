package checks

import (
	"context"
	"fmt"
	"strings"

	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
)

// RuleVCSDirectory reports version-control metadata copied into the image.
var RuleVCSDirectory = &finding.Rule{
	ID: "IH1007", Slug: "vcs-directory", Title: "Version-control metadata left in the image",
	Severity: finding.SeverityMedium, Category: finding.CategoryImageFS,
	Description: "A .git, .svn, .hg or .bzr directory with content is in the final root filesystem, usually from " +
		"COPY . without a .dockerignore. It holds the project's whole history: source the image was not meant to " +
		"ship, internal remotes, and secrets that were committed and later deleted. One finding per directory.",
	Remediation: "Add .git (and the other VCS directories) to .dockerignore, or copy only the build output into the " +
		"final stage.",
	Refs: []string{"ecs:R1", "ecs:R17"},
}

var vcsDirs = map[string]string{
	".git": "Git repository metadata", ".svn": "Subversion metadata",
	".hg": "Mercurial repository metadata", ".bzr": "Bazaar repository metadata",
}

// vcsRoot returns the outermost VCS directory that contains p.
func vcsRoot(p string) (root, kind string, ok bool) {
	for i := 0; ; {
		j := strings.Index(p[i:], "/.") // every VCS directory name starts with a dot
		if j < 0 {
			return "", "", false
		}
		start := i + j + 1
		end := strings.IndexByte(p[start:], '/')
		if end < 0 {
			return "", "", false // the last component is p itself, not a directory containing it
		}
		if kind, ok := vcsDirs[p[start:start+end]]; ok {
			return p[:start+end], kind, true
		}
		i = start
	}
}

type vcsDirectory struct{}

func (vcsDirectory) Rules() []*finding.Rule { return []*finding.Rule{RuleVCSDirectory} }

func (vcsDirectory) CheckImage(_ context.Context, v *analyze.View, r analyze.Reporter) error {
	var found leftovers
	for _, e := range entries(v) {
		if !e.IsRegular() {
			continue
		}
		if root, kind, ok := vcsRoot(e.Path); ok {
			found.add(root, kind, e)
		}
	}
	found.report(r, RuleVCSDirectory, func(t *leftover) string {
		return fmt.Sprintf("%s left in %s (%s, %s)", t.kind, t.root, plural(t.files, "file"), size(t.bytes))
	})
	return nil
}
