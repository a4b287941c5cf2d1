package checks

import (
	"context"

	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
)

// RulePackageManager reports package managers in the image's bin directories.
var RulePackageManager = &finding.Rule{
	ID: "IH1005", Slug: "package-manager", Title: "Image contains a package manager",
	Severity: finding.SeverityLow, Category: finding.CategoryImageFS,
	Description: "A package manager (apt/apt-get/dpkg, apk, yum/dnf/microdnf/rpm, zypper, pip, npm/npx/yarn/pnpm, " +
		"gem) sits in a bin directory of the final root filesystem or of the image's PATH. A minimal run-time " +
		"image does not install software; a package manager left in it lets an attacker install whatever they " +
		"need, and its databases make the image larger.",
	Remediation: "Install packages in a builder stage and copy the results into a distroless or scratch final " +
		"stage; on Debian-based images at least purge what you no longer need. " +
		"Each finding names the package that owns the file and the command that removes it, read from the image's own package database (dpkg, apk; rpm images get the rpm -qf command that names it).",
	Refs: []string{"ecs:R1"},
}

var packageManagers = toolSet{
	"apt": true, "apt-get": true, "dpkg": true, "apk": true, "yum": true, "dnf": true,
	"microdnf": true, "rpm": true, "zypper": true, "pip": true, "npm": true, "npx": true,
	"yarn": true, "pnpm": true, "gem": true,
}

type packageManager struct{ packageOwners }

func (packageManager) Rules() []*finding.Rule { return []*finding.Rule{RulePackageManager} }

func (packageManager) CheckImage(_ context.Context, v *analyze.View, r analyze.Reporter) error {
	reportTools(v, r, RulePackageManager, packageManagers, "a package manager")
	return nil
}
