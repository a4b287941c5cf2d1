package rewrite

import "github.com/imgharden/imgharden/pkg/finding"

// RuleInterpreted: the entrypoint is an interpreter, so the files it needs are not a static
// closure the rewrite can compute.
var RuleInterpreted = &finding.Rule{
	ID: "IH3009", Slug: "interpreted-runtime", Title: "Entrypoint needs an interpreter runtime",
	Severity: finding.SeverityInfo, Category: finding.CategoryDocker,
	Description: "Python, Node.js and Java programs load modules and classes at run time, by names no " +
		"ELF header lists. Copying the interpreter's dynamic closure into scratch gives an image that " +
		"starts and then fails on its first import, so the rewrite proposes a minimal interpreter base " +
		"instead of emitting such an image.",
	Remediation: "Use a slim or distroless interpreter base (python:3-slim, gcr.io/distroless/python3-debian12, " +
		"node:lts-slim, eclipse-temurin:21-jre) and copy only the application into it.",
	Refs: []string{"ecs:R1", "ecs:R6"},
}
