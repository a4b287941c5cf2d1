package checks

import (
	"context"
	"path"

	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
)

// RuleCompiler reports compilers and build toolchains in the image.
var RuleCompiler = &finding.Rule{
	ID: "IH1006", Slug: "compiler", Title: "Image contains a compiler or build toolchain",
	Severity: finding.SeverityMedium, Category: finding.CategoryImageFS,
	Description: "A compiler or build tool (gcc/cc/c++/g++, clang, the Go toolchain, rustc/cargo, javac, make) sits " +
		"in a bin directory of the final root filesystem or of the image's PATH, or a Go toolchain root (GOROOT) " +
		"is present elsewhere. Toolchains belong in a builder stage: in the run-time image they let an attacker " +
		"build exploits in place and add hundreds of megabytes.",
	Remediation: "Use a multi-stage build: compile in a builder stage and copy only the binary into a scratch or " +
		"distroless final stage (for Go: CGO_ENABLED=0 go build, then FROM scratch). " +
		"Each finding names the package that owns the file and the command that removes it, read from the image's own package database (dpkg, apk; rpm images get the rpm -qf command that names it).",
	Refs: []string{"ecs:R1", "ecs:R2"},
}

var compilers = toolSet{
	"gcc": true, "cc": true, "c++": true, "g++": true, "clang": true, "clang++": true,
	"go": true, "rustc": true, "cargo": true, "javac": true, "make": true, "gmake": true,
}

type compiler struct{ packageOwners }

func (compiler) Rules() []*finding.Rule { return []*finding.Rule{RuleCompiler} }

func (compiler) CheckImage(_ context.Context, v *analyze.View, r analyze.Reporter) error {
	// Go toolchain roots whose go binary is not in a bin directory: a GOROOT is recognised by
	// bin/go next to pkg/tool or src/runtime, or named by GOROOT.
	var roots []string
	if g, ok := configEnv(v, "GOROOT"); ok && path.IsAbs(g) {
		roots = append(roots, path.Clean(g))
	}
	for _, e := range entries(v) {
		if e.IsDir() || e.Base() != "go" || path.Base(parentDir(e.Path)) != "bin" {
			continue
		}
		root := parentDir(parentDir(e.Path))
		if v.Exists(path.Join(root, "pkg/tool")) || v.Exists(path.Join(root, "src/runtime")) {
			roots = append(roots, root)
		}
	}
	hits := reportTools(v, r, RuleCompiler, compilers, "a compiler or build tool")
	reported := map[string]bool{}
	for _, t := range hits {
		reported[t.targetPath] = true
	}
	for _, root := range roots {
		goBin := path.Join(root, "bin/go")
		e, ok := v.Lookup(goBin)
		if !ok {
			continue
		}
		t, err := v.Resolve(goBin)
		if err != nil || !t.Mode.IsRegular() || t.Mode.Perm()&0o111 == 0 || reported[t.Path] {
			continue
		}
		reported[t.Path] = true
		msg := "Go toolchain at GOROOT " + root + " (its go binary is not in a bin directory on PATH)"
		db, o := ownerOf(v, goBin, t.Path)
		if s := db.Describe(o); s != "" {
			msg += ", " + s
		}
		f := finding.New(RuleCompiler, finding.Location{}, msg, "GOROOT "+root)
		f.Details = map[string]string{"program": "go", "resolvesTo": t.Path, "goroot": root}
		ownerDetails(f.Details, db, o)
		r.Report(e, f)
	}
	return nil
}
