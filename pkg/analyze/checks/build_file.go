package checks

import (
	"context"
	"strings"

	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
)

// RuleBuildFile reports Dockerfiles and compose files copied into the image.
var RuleBuildFile = &finding.Rule{
	ID: "IH1009", Slug: "build-file", Title: "Dockerfile or compose file copied into the image",
	Severity: finding.SeverityLow, Category: finding.CategoryImageFS,
	Description: "A Dockerfile, Containerfile or Compose file is in the final root filesystem, usually from COPY . " +
		"without a .dockerignore. It documents how the image and its environment are built (internal registries, " +
		"build arguments, service topology) and is a sign that the whole build context was copied in. Files " +
		"inside package trees (node_modules, site-packages, the Go module cache and toolchain, /usr/share, " +
		"/usr/lib) are not reported.",
	Remediation: "List Dockerfile*, Containerfile*, compose files and other build-only files in .dockerignore, or " +
		"copy only what the application needs.",
	Refs: []string{"ecs:R1"},
}

// isBuildFile matches Dockerfile, Dockerfile.prod, app.Dockerfile, Containerfile*,
// docker-compose*.yml and compose.yaml.
func isBuildFile(name string) bool {
	lower := strings.ToLower(name)
	switch {
	case lower == "dockerfile" || lower == "containerfile":
		return true
	case strings.HasPrefix(lower, "dockerfile.") || strings.HasPrefix(lower, "containerfile."):
		return true
	case strings.HasSuffix(lower, ".dockerfile") || strings.HasSuffix(lower, ".containerfile"):
		return true
	case strings.HasSuffix(lower, ".yml") || strings.HasSuffix(lower, ".yaml"):
		stem := strings.TrimSuffix(strings.TrimSuffix(lower, ".yml"), ".yaml")
		return stem == "compose" || stem == "docker-compose" || strings.HasPrefix(stem, "docker-compose.") ||
			strings.HasPrefix(stem, "compose.")
	}
	return false
}

type buildFile struct{}

func (buildFile) Rules() []*finding.Rule { return []*finding.Rule{RuleBuildFile} }

func (buildFile) CheckImage(_ context.Context, v *analyze.View, r analyze.Reporter) error {
	for _, e := range entries(v) {
		if !e.IsRegular() || !isBuildFile(e.Base()) || vendoredTree(e.Path) {
			continue
		}
		r.Report(e, finding.New(RuleBuildFile, finding.Location{},
			"build file "+e.Path+" was copied into the image", ""))
	}
	return nil
}
