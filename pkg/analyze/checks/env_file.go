package checks

import (
	"context"
	"strings"

	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
)

// RuleEnvFile reports .env files copied into the image.
var RuleEnvFile = &finding.Rule{
	ID: "IH1010", Slug: "env-file", Title: ".env file copied into the image",
	Severity: finding.SeverityMedium, Category: finding.CategoryImageFS,
	Description: "A .env or .env.* file (other than templates such as .env.example, .env.sample, .env.template " +
		"and .env.dist) is in the final root filesystem. These files hold the local or deployment settings of an " +
		"application, very often with passwords and API keys, and end up in images through COPY . without a " +
		".dockerignore. The secret rules look at the content; this rule reports the file whatever it contains.",
	Remediation: "Add .env* to .dockerignore and pass settings at run time (ECS task definition environment, " +
		"secrets from Secrets Manager or SSM Parameter Store).",
	Refs: []string{"ecs:R17", "ecs:R1"},
}

var envTemplates = map[string]bool{"example": true, "sample": true, "template": true, "dist": true, "defaults": true}

// isEnvFile matches .env and .env.NAME except templates.
func isEnvFile(name string) bool {
	if name == ".env" {
		return true
	}
	suffix, ok := strings.CutPrefix(name, ".env.")
	return ok && suffix != "" && !envTemplates[strings.ToLower(suffix)]
}

type envFile struct{}

func (envFile) Rules() []*finding.Rule { return []*finding.Rule{RuleEnvFile} }

func (envFile) CheckImage(_ context.Context, v *analyze.View, r analyze.Reporter) error {
	for _, e := range entries(v) {
		if !e.IsRegular() || !isEnvFile(e.Base()) || vendoredTree(e.Path) {
			continue
		}
		r.Report(e, finding.New(RuleEnvFile, finding.Location{},
			"environment file "+e.Path+" was copied into the image", ""))
	}
	return nil
}
