package checks

import (
	"context"

	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
)

// RuleShell reports shells in the image's bin directories.
var RuleShell = &finding.Rule{
	ID: "IH1003", Slug: "shell", Title: "Image contains a shell",
	Severity: finding.SeverityMedium, Category: finding.CategoryImageFS,
	Description: "An executable shell (sh, bash, dash, ash, zsh, ksh, mksh, or busybox, which contains one) " +
		"sits in a bin directory of the final root filesystem or of the image's PATH, including symlinks and " +
		"hardlinks such as busybox or toybox applet links. An attacker who gets code execution in the container " +
		"uses the shell to explore it, download tools and move on; most services never need one at run time.",
	Remediation: "Build the final stage FROM scratch or a distroless base and copy only the application into it; " +
		"use the exec form of CMD and ENTRYPOINT so nothing needs /bin/sh. " +
		"Each finding names the package that owns the file and the command that removes it, read from the image's own package database (dpkg, apk; rpm images get the rpm -qf command that names it).",
	Refs: []string{"ecs:R5", "ecs:R1"},
}

var shells = toolSet{
	"sh": true, "bash": true, "rbash": true, "dash": true, "ash": true, "zsh": true,
	"ksh": true, "mksh": true, "busybox": true,
}

type shell struct{ packageOwners }

func (shell) Rules() []*finding.Rule { return []*finding.Rule{RuleShell} }

func (shell) CheckImage(_ context.Context, v *analyze.View, r analyze.Reporter) error {
	reportTools(v, r, RuleShell, shells, "a shell")
	return nil
}
