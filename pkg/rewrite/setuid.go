package rewrite

import (
	"context"
	"regexp"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/imgharden/imgharden/pkg/finding"
)

// RuleSetuid: a final stage that has a shell keeps the setuid/setgid bits of its files.
var RuleSetuid = &finding.Rule{
	ID: "IH3008", Slug: "setuid-not-stripped", Title: "Final stage keeps setuid and setgid bits",
	Severity: finding.SeverityMedium, Category: finding.CategoryDocker,
	Description: "Base images ship setuid-root programs (su, passwd, mount, ...). A process that gets " +
		"code execution as the container's non-root user can use them to become root. A final stage " +
		"that still has a shell can strip the bits in one RUN before it switches user.",
	Remediation: `RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} + || true`,
	Refs:        []string{"ecs:R4", "cis-docker:4.8"},
}

const stripSetuidCmd = "find / -xdev -perm /6000 -type f -exec chmod a-s {} + || true"

var reStripsSetuid = regexp.MustCompile(`-perm\s+[/+-]?[0-7]*6000|chmod\s+(-R\s+)?[ugoa]*-s\b`)

// noShellBase reports bases known to have no shell.
func noShellBase(base string) bool {
	b := strings.ToLower(base)
	switch {
	case b == "scratch":
		return true
	case strings.Contains(b, "distroless") && !strings.Contains(b, "debug"):
		return true
	case strings.HasPrefix(b, "cgr.dev/chainguard/static"):
		return true
	}
	return false
}

// finalHasShell says whether the final stage can RUN: known from the image when one was
// given and the final stage is what it was built from, otherwise from the base's name.
func (st *state) finalHasShell(d *doc) bool {
	base := d.rootBase(d.final())
	if st.image != nil && !st.split {
		return st.image.HasShell()
	}
	return !noShellBase(base)
}

// userAt returns the user in effect before the instruction at position i of stage s ("" when
// none was set in the file), following FROM <stage> chains.
func (d *doc) userAt(s *stage, i int) (string, *cmd) {
	for hops := 0; s != nil && hops <= len(d.stages); hops++ {
		for j := i - 1; j >= 0; j-- {
			if u, ok := s.cmds[j].Command.(*instructions.UserCommand); ok {
				return u.User, &s.cmds[j]
			}
		}
		s = d.stageByName(s.BaseName, s.index)
		if s != nil {
			i = len(s.cmds)
		}
	}
	return "", nil
}

func stripSetuid(_ context.Context, st *state, d *doc) ([]edit, []note, error) {
	s := d.final()
	if suppressed(s.from, RuleSetuid) || !st.finalHasShell(d) {
		return nil, nil, nil
	}
	for _, c := range s.cmds {
		if r := shellRun(c); r != nil && reStripsSetuid.MatchString(d.text(c.node.StartLine, c.node.EndLine)) {
			return nil, nil, nil
		}
	}
	// Strip as root: before the first USER of the stage, or at its end.
	at := len(s.cmds)
	for i, c := range s.cmds {
		if _, ok := c.Command.(*instructions.UserCommand); ok {
			at = i
			break
		}
	}
	if u, _ := d.userAt(s, at); u != "" && !isRootUser(u) {
		return nil, []note{{RuleSetuid, s.from.StartLine,
			"final stage runs as " + u + " from its parent stage on; strip setuid bits there as root: " + stripSetuidCmd, ""}}, nil
	}
	text := d.kw("RUN") + " " + stripSetuidCmd + d.eol
	summary := "final stage → strips setuid/setgid bits before it switches user"
	if at == len(s.cmds) {
		return []edit{insertBefore(s.endLine()+1, text, RuleSetuid, s.from.StartLine, summary)}, nil, nil
	}
	n := s.cmds[at].node
	return []edit{insertBefore(d.blockStart(n), text, RuleSetuid, n.StartLine, summary)}, nil, nil
}
