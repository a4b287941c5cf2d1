package rewrite

import (
	"context"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/imgharden/imgharden/pkg/finding"
)

// RuleSingleStage: a single-stage build that carries its build toolchain into the image.
var RuleSingleStage = &finding.Rule{
	ID: "IH3007", Slug: "single-stage-toolchain", Title: "Single-stage build ships its build toolchain",
	Severity: finding.SeverityMedium, Category: finding.CategoryDocker,
	Description: "Compilers, package managers, sources and caches that the build needed stay in the image " +
		"it ships: hundreds of megabytes and every tool an attacker could want. A multi-stage build keeps " +
		"them in a builder stage and copies only the artifacts into a final stage, scratch for static " +
		"binaries.",
	Remediation: "FROM <toolchain> AS builder ... then FROM scratch (or a slim base) with COPY --from=builder " +
		"of the artifacts only.",
	Refs: []string{"ecs:R1", "ecs:R2", "ecs:R6"},
}

const builderName = "builder"

var (
	reBuildPkgInstall = regexp.MustCompile(`(?:^|\s)(build-essential|gcc|g\+\+|clang|make|cmake|golang(?:-go)?|rustc|cargo|maven|gradle|default-jdk|openjdk-\d+-jdk(?:-headless)?|autoconf|automake|libtool|[a-z0-9.+-]+-dev)(?:\s|$)`)
	reBuildCommand    = regexp.MustCompile(`(?:^|[\s;&|(])(go\s+(?:build|install)|cargo\s+build|gcc|g\+\+|cc|c\+\+|clang|make|cmake|mvn|gradle|javac|npm\s+run\s+build|yarn\s+build)(?:\s|$)`)
	reToolchainBase   = regexp.MustCompile(`^(?:[^/]+/)*(golang|rust|gcc|maven|gradle|buildpack-deps|openjdk|eclipse-temurin|amazoncorretto)(?::|@|$)`)
	reGoOutput        = regexp.MustCompile(`go\s+build\b[^;&|]*?\s-o[=\s]+(\S+)`)
	reCcOutput        = regexp.MustCompile(`(?:^|\s)(?:gcc|g\+\+|cc|c\+\+|clang|clang\+\+)\s[^;&|]*?\s-o\s*(\S+)`)
)

// buildPackage reports Debian packages that only a build needs.
func buildPackage(p string) bool {
	switch p {
	case "build-essential", "gcc", "g++", "cpp", "clang", "make", "cmake", "golang", "golang-go", "rustc", "cargo",
		"maven", "gradle", "default-jdk", "autoconf", "automake", "libtool", "pkg-config", "pkgconf", "git",
		"dpkg-dev", "patch", "bison", "flex", "binutils", "ninja-build", "meson":
		return true
	}
	return strings.HasSuffix(p, "-dev") || strings.HasPrefix(p, "gcc-") || strings.HasPrefix(p, "g++-") ||
		strings.HasPrefix(p, "llvm") || (strings.HasPrefix(p, "openjdk-") && strings.Contains(p, "-jdk"))
}

// runText is the command of a shell-form RUN with continuations joined.
func runText(c cmd) string {
	r := shellRun(c)
	if r == nil {
		return ""
	}
	s := strings.Join(r.CmdLine, " ")
	for _, f := range r.Files {
		s += "\n" + f.Data
	}
	return s
}

// toolchainEvidence says why the stage is a build, or "".
func (st *state) toolchainEvidence(d *doc, s *stage) string {
	if m := reToolchainBase.FindStringSubmatch(strings.ToLower(d.rootBase(s))); m != nil {
		return "base image " + d.rootBase(s) + " is a " + m[1] + " toolchain"
	}
	for _, c := range s.cmds {
		t := runText(c)
		for _, seg := range aptSegments(t) {
			args := t[seg[0]:seg[1]]
			if reInstall.MatchString(args) {
				if m := reBuildPkgInstall.FindStringSubmatch(args); m != nil {
					return "RUN installs " + m[1]
				}
			}
		}
		if m := reBuildCommand.FindStringSubmatch(t); m != nil {
			return "RUN runs " + strings.Join(strings.Fields(m[1]), " ")
		}
	}
	if st.image != nil {
		if tc := st.image.Toolchain(); len(tc) > 0 {
			return "the image carries a toolchain (" + strings.Join(tc, ", ") + ")"
		}
	}
	return ""
}

// finalPlan is the content of the final stage a split writes.
type finalPlan struct {
	from   string     // "scratch" or a base image
	run    string     // RUN command for runtime packages, or ""
	copies []copySpec // from the builder
	why    string
}

// copySpec copies Src (a path without symlinks in the source) to Dst.
type copySpec struct{ Src, Dst string }

// copyLines groups copies by destination directory when the names do not change.
func copyLines(d *doc, from string, copies []copySpec) string {
	byDir := map[string][]string{}
	var dirs []string
	var b strings.Builder
	for _, c := range copies {
		if path.Base(c.Src) != path.Base(c.Dst) {
			b.WriteString(d.kw("COPY") + " --from=" + from + " " + c.Src + " " + c.Dst + d.eol)
			continue
		}
		dir := path.Dir(c.Dst)
		if _, ok := byDir[dir]; !ok {
			dirs = append(dirs, dir)
		}
		byDir[dir] = append(byDir[dir], c.Src)
	}
	sort.Strings(dirs)
	for _, dir := range dirs {
		srcs := byDir[dir]
		sort.Strings(srcs)
		dst := dir
		if dst != "/" {
			dst += "/"
		}
		if len(srcs) == 1 {
			dst = path.Join(dir, path.Base(srcs[0]))
		}
		b.WriteString(d.kw("COPY") + " --from=" + from + " " + strings.Join(srcs, " ") + " " + dst + d.eol)
	}
	return b.String()
}

func splitStages(_ context.Context, st *state, d *doc) ([]edit, []note, error) {
	if len(d.stages) != 1 {
		return nil, nil, nil
	}
	s := &d.stages[0]
	if suppressed(s.from, RuleSingleStage) {
		return nil, nil, nil
	}
	evidence := st.toolchainEvidence(d, s)
	if evidence == "" {
		return nil, nil, nil
	}
	plan, why := st.planFinal(d, s)
	if plan == nil {
		return nil, []note{{RuleSingleStage, s.from.StartLine, evidence + ", but " + why, ""}}, nil
	}
	name := s.Name
	var edits []edit
	if name == "" {
		name = builderName
		l := s.from.EndLine
		line := d.lines[l-1]
		nl := strings.TrimRight(trimEOL(line), " \t") + " " + d.kw("AS") + " " + name + d.lineEnd(l)
		edits = append(edits, replaceLines(l, l, nl, RuleSingleStage, "FROM "+s.BaseName+" → named stage "+name))
	}
	var b strings.Builder
	b.WriteString(d.eol + d.kw("FROM") + " " + plan.from + d.eol)
	if plan.run != "" {
		b.WriteString(d.kw("RUN") + " " + plan.run + d.eol)
	}
	b.WriteString(copyLines(d, name, plan.copies))
	var notes []note
	for _, c := range s.cmds {
		keep := false
		switch x := c.Command.(type) {
		case *instructions.ArgCommand, *instructions.EnvCommand, *instructions.WorkdirCommand,
			*instructions.ExposeCommand, *instructions.LabelCommand, *instructions.StopSignalCommand,
			*instructions.VolumeCommand, *instructions.EntrypointCommand, *instructions.CmdCommand:
			keep = true
		case *instructions.UserCommand:
			keep = numericUser(x.User) // a name would need the builder's /etc/passwd
		case *instructions.HealthCheckCommand:
			keep = plan.from != "scratch" || x.Health == nil || len(x.Health.Test) == 0 || x.Health.Test[0] != "CMD-SHELL"
			if !keep {
				notes = append(notes, note{RuleSingleStage, c.node.StartLine, "HEALTHCHECK needs a shell, which the scratch final stage does not have; not copied", ""})
			}
		}
		if keep {
			t := d.text(c.node.StartLine, c.node.EndLine)
			if !strings.HasSuffix(t, "\n") {
				t += d.eol
			}
			b.WriteString(t)
		}
	}
	edits = append(edits, insertBefore(s.endLine()+1, b.String(), RuleSingleStage, s.from.StartLine,
		evidence+" → multi-stage: final stage FROM "+plan.from+" with "+plan.why))
	st.split = true
	return edits, notes, nil
}

// entryArgv is the stage's ENTRYPOINT (and CMD when there is no ENTRYPOINT) in exec form,
// with the WORKDIR in effect. ok is false for shell form.
func entryArgv(s *stage) (argv []string, workdir string, ok bool) {
	workdir = "/"
	var ep, cm []string
	epShell, cmShell := false, false
	for _, c := range s.cmds {
		switch x := c.Command.(type) {
		case *instructions.WorkdirCommand:
			workdir = path.Join(workdir, x.Path)
			if path.IsAbs(x.Path) {
				workdir = path.Clean(x.Path)
			}
		case *instructions.EntrypointCommand:
			ep, epShell = x.CmdLine, x.PrependShell
		case *instructions.CmdCommand:
			cm, cmShell = x.CmdLine, x.PrependShell
		}
	}
	if len(ep) > 0 {
		return ep, workdir, !epShell
	}
	return cm, workdir, !cmShell && len(cm) > 0
}

var interpreters = map[string]string{
	"python": "python", "python3": "python", "node": "node", "nodejs": "node", "java": "java",
	"ruby": "ruby", "perl": "perl", "php": "php", "sh": "shell", "bash": "shell", "dash": "shell",
}

// interpreterOf names the runtime family of a program path ("python3.11" → "python").
func interpreterOf(prog string) string {
	b := path.Base(prog)
	if k, ok := interpreters[b]; ok {
		return k
	}
	for k, v := range interpreters {
		if strings.HasPrefix(b, k) && strings.Trim(b[len(k):], "0123456789.") == "" {
			return v
		}
	}
	return ""
}

// planFinal decides the final stage, or says why it cannot.
func (st *state) planFinal(d *doc, s *stage) (*finalPlan, string) {
	argv, workdir, ok := entryArgv(s)
	if st.image != nil {
		return st.image.planFromImage()
	}
	if !ok || len(argv) == 0 {
		return nil, "no exec-form ENTRYPOINT or CMD names the program to keep; pass --image to find it from the built image"
	}
	prog := argv[0]
	if k := interpreterOf(prog); k != "" {
		return nil, "the entrypoint runs " + k + ": " + InterpreterAdvice(k)
	}
	outputs, static := buildOutputs(s)
	var artifact string
	switch {
	case path.IsAbs(prog):
		artifact = path.Clean(prog)
	case strings.Contains(prog, "/"):
		artifact = path.Join(workdir, prog)
	default:
		for o := range outputs {
			if path.Base(o) == prog {
				artifact = o
			}
		}
		for _, dst := range copyDests(s) {
			if path.Base(dst) == prog {
				artifact = dst
			}
		}
	}
	isStatic, built := static[artifact]
	if artifact == "" || !built && !copiedTo(s, artifact) {
		return nil, "cannot tell which file " + prog + " is from the build commands; pass --image to find it from the built image"
	}
	plan := &finalPlan{copies: []copySpec{{artifact, artifact}}}
	if isStatic {
		plan.from = "scratch"
		plan.why = artifact + " (statically linked build)"
		return plan, ""
	}
	base := d.rootBase(s)
	if reToolchainBase.MatchString(strings.ToLower(base)) {
		return nil, "the base " + base + " is itself the toolchain and " + artifact +
			" is not known to be static; build it statically (e.g. CGO_ENABLED=0) or pass --image"
	}
	plan.from = base
	plan.why = artifact + " on the same base without the build packages"
	if pkgs := runtimePackages(s); len(pkgs) > 0 {
		plan.run = "apt-get update && apt-get install -y --no-install-recommends " + strings.Join(pkgs, " ") + " && " + aptCleanup
		plan.why += " (runtime packages: " + strings.Join(pkgs, " ") + ")"
	}
	return plan, ""
}

// InterpreterAdvice proposes a minimal base for an interpreted runtime family.
func InterpreterAdvice(k string) string {
	switch k {
	case "python":
		return "a static closure is not enough; use a minimal interpreter base such as python:3-slim or gcr.io/distroless/python3-debian12 and copy the application into it"
	case "node":
		return "a static closure is not enough; use a minimal interpreter base such as node:lts-slim or gcr.io/distroless/nodejs22-debian12"
	case "java":
		return "a static closure is not enough; use a JRE-only base such as eclipse-temurin:21-jre or gcr.io/distroless/java21-debian12"
	case "shell":
		return "a shell script needs a shell and the commands it calls; keep a slim base (debian:bookworm-slim, busybox) or pass --image to compute what it calls"
	}
	return "a static closure is not enough; use a minimal base that ships the " + k + " runtime"
}

// buildOutputs finds files the stage's RUNs write with go build -o / cc -o, each with whether
// the build is static.
func buildOutputs(s *stage) (map[string]bool, map[string]bool) {
	outputs, static := map[string]bool{}, map[string]bool{}
	workdir := "/"
	cgoOff := false
	for _, c := range s.cmds {
		switch x := c.Command.(type) {
		case *instructions.WorkdirCommand:
			if path.IsAbs(x.Path) {
				workdir = path.Clean(x.Path)
			} else {
				workdir = path.Join(workdir, x.Path)
			}
			continue
		case *instructions.EnvCommand:
			for _, kv := range x.Env {
				if kv.Key == "CGO_ENABLED" {
					cgoOff = kv.Value == "0"
				}
			}
			continue
		}
		t := runText(c)
		if t == "" {
			continue
		}
		cwd := workdir
		for _, part := range regexp.MustCompile(`&&|;|\|\|`).Split(t, -1) {
			f := strings.Fields(part)
			if len(f) >= 2 && f[0] == "cd" {
				cwd = path.Join(cwd, f[1])
				if path.IsAbs(f[1]) {
					cwd = path.Clean(f[1])
				}
				continue
			}
			abs := func(p string) string {
				if path.IsAbs(p) {
					return path.Clean(p)
				}
				return path.Join(cwd, p)
			}
			if m := reGoOutput.FindStringSubmatch(part); m != nil {
				o := abs(m[1])
				outputs[o] = true
				static[o] = cgoOff || strings.Contains(part, "CGO_ENABLED=0")
			}
			if m := reCcOutput.FindStringSubmatch(part); m != nil {
				o := abs(m[1])
				outputs[o] = true
				static[o] = regexp.MustCompile(`\s-static(\s|$)`).MatchString(part)
			}
		}
	}
	return outputs, static
}

// copyDests are the destinations of COPY/ADD from the build context.
func copyDests(s *stage) []string {
	var out []string
	workdir := "/"
	for _, c := range s.cmds {
		var dst string
		switch x := c.Command.(type) {
		case *instructions.WorkdirCommand:
			if path.IsAbs(x.Path) {
				workdir = path.Clean(x.Path)
			} else {
				workdir = path.Join(workdir, x.Path)
			}
		case *instructions.CopyCommand:
			if x.From == "" {
				dst = x.DestPath
				if len(x.SourcePaths) == 1 && strings.HasSuffix(dst, "/") {
					dst += path.Base(x.SourcePaths[0])
				}
			}
		case *instructions.AddCommand:
			dst = x.DestPath
		}
		if dst != "" {
			if !path.IsAbs(dst) {
				dst = path.Join(workdir, dst)
			}
			out = append(out, path.Clean(dst))
		}
	}
	return out
}

// copiedTo reports whether p was copied into the stage from the context (as itself or under a
// copied directory).
func copiedTo(s *stage, p string) bool {
	for _, dst := range copyDests(s) {
		if dst == p || strings.HasPrefix(p, dst+"/") {
			return true
		}
	}
	return false
}

// runtimePackages are the apt packages the stage installs that are not build-only.
func runtimePackages(s *stage) []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range s.cmds {
		t := runText(c)
		for _, seg := range aptSegments(t) {
			args := t[seg[0]:seg[1]]
			im := reInstall.FindStringIndex(args)
			if im == nil {
				continue
			}
			for _, f := range strings.Fields(args[im[1]:]) {
				if strings.HasPrefix(f, "-") || f == "\\" || strings.ContainsAny(f, "$=") || buildPackage(f) || seen[f] {
					continue
				}
				seen[f] = true
				out = append(out, f)
			}
		}
	}
	return out
}
