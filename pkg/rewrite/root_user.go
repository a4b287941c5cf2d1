package rewrite

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/imgharden/imgharden/pkg/finding"
)

// RuleRootUser: the final stage runs as root or as a user name a runtime cannot check.
var RuleRootUser = &finding.Rule{
	ID: "IH3001", Slug: "final-stage-root", Title: "Final stage runs as root or without a numeric USER",
	Severity: finding.SeverityHigh, Category: finding.CategoryDocker,
	Description: "Without a USER the container runs as root, and a breakout from a root process is a root " +
		"process on the node. A user name (rather than UID:GID) cannot be verified by runAsNonRoot-style " +
		"policies, which only see numbers.",
	Remediation: "Create an unprivileged user in the final stage (or write its /etc/passwd and /etc/group " +
		"entries for scratch) and end with USER 65532:65532.",
	Refs: []string{"ecs:R8", "cis-docker:4.1"},
}

// The unprivileged user the rewrite creates: distroless's "nonroot".
const (
	nonRootUID  = 65532
	nonRootName = "nonroot"
	passwdStage = "imgharden-passwd"
)

// isRootUser reports whether a USER value means UID 0.
func isRootUser(u string) bool {
	name, _, _ := strings.Cut(strings.TrimSpace(u), ":")
	return name == "" || name == "root" || name == "0"
}

// numericUser reports whether u is UID or UID:GID in digits.
func numericUser(u string) bool {
	name, group, hasGroup := strings.Cut(u, ":")
	if _, err := strconv.Atoi(name); err != nil {
		return false
	}
	if hasGroup {
		_, err := strconv.Atoi(group)
		return err == nil
	}
	return true
}

func passwdLine() string {
	return fmt.Sprintf("%s:x:%d:%d:%s:/nonexistent:/sbin/nologin", nonRootName, nonRootUID, nonRootUID, nonRootName)
}

func groupLine() string { return fmt.Sprintf("%s:x:%d:", nonRootName, nonRootUID) }

// addUserCmd appends the user to /etc/passwd and /etc/group with nothing but the shell, so it
// works on any base (no useradd/adduser needed).
func addUserCmd() string {
	return fmt.Sprintf("echo '%s' >> /etc/passwd && echo '%s' >> /etc/group", passwdLine(), groupLine())
}

func nonRootUser(_ context.Context, st *state, d *doc) ([]edit, []note, error) {
	s := d.final()
	if suppressed(s.from, RuleRootUser) {
		return nil, nil, nil
	}
	user, at := d.userAt(s, len(s.cmds))
	if user == "" && st.image != nil && !st.split && st.image.Config != nil {
		user = st.image.Config.Config.User // the base image's user, as built
	}
	if strings.Contains(user, "$") {
		return nil, []note{{RuleRootUser, lineOf(at, s), "USER " + user + " comes from a build argument; cannot tell whether it is root", user}}, nil
	}
	if user != "" && !isRootUser(user) {
		if numericUser(user) {
			return nil, nil, nil
		}
		if st.image != nil && !st.split {
			if ids, ok := st.image.NumericUser(user); ok && at != nil {
				nl := indent(d.lines[at.node.StartLine-1]) + keyword(d.lines[at.node.StartLine-1]) + " " + ids + d.lineEnd(at.node.EndLine)
				return []edit{replaceLines(at.node.StartLine, at.node.EndLine, nl, RuleRootUser,
					"USER "+user+" → USER "+ids+" (numeric, from the image's /etc/passwd and /etc/group)")}, nil, nil
			}
		}
		return nil, []note{{RuleRootUser, lineOf(at, s),
			"USER " + user + " is a name; use its numeric UID:GID so runtimes can verify it is not root", user}}, nil
	}

	// Root: switch to the unprivileged user at the end of the final stage.
	ids := fmt.Sprintf("%d:%d", nonRootUID, nonRootUID)
	userLine := d.kw("USER") + " " + ids + d.eol
	var text string
	var extra []edit
	summary := "final stage → runs as " + ids
	base := d.rootBase(s)
	switch {
	case st.finalHasShell(d):
		text = d.kw("RUN") + " " + addUserCmd() + d.eol + userLine
		summary += " (user " + nonRootName + " added to /etc/passwd and /etc/group)"
	case strings.Contains(strings.ToLower(base), "distroless") || strings.HasPrefix(base, "cgr.dev/chainguard/"):
		text = userLine // these ship the nonroot user
	default:
		// No shell (scratch): take passwd and group from a stage that has one.
		src := d.shellStage(s)
		if src == "" {
			text = userLine
			summary += " (no stage with a shell to write /etc/passwd from: numeric user only)"
			break
		}
		if d.stageByName(passwdStage, s.index) == nil {
			extra = append(extra, insertBefore(d.blockStart(s.from),
				d.kw("FROM")+" "+src+" "+d.kw("AS")+" "+passwdStage+d.eol+
					d.kw("RUN")+" "+addUserCmd()+d.eol+d.eol, RuleRootUser, s.from.StartLine,
				"stage "+passwdStage+" → writes /etc/passwd and /etc/group entries for the scratch final stage"))
		}
		text = d.kw("COPY") + " --from=" + passwdStage + " /etc/passwd /etc/group /etc/" + d.eol + userLine
		summary += " (/etc/passwd and /etc/group from stage " + passwdStage + ")"
	}
	edits := append(extra, insertBefore(s.endLine()+1, text, RuleRootUser, s.from.StartLine, summary))
	return edits, nil, nil
}

func lineOf(c *cmd, s *stage) int {
	if c != nil && c.node != nil {
		return c.node.StartLine
	}
	return s.from.StartLine
}

// lineEnd is the terminator of line n.
func (d *doc) lineEnd(n int) string {
	l := d.lines[n-1]
	return l[len(trimEOL(l)):]
}

// shellStage names something a helper stage can start FROM that has a shell and an
// /etc/passwd: a stage the final one copies from (by name, or its external base when it has
// none), else any earlier stage.
func (d *doc) shellStage(final *stage) string {
	var cands []*stage
	for _, c := range final.cmds {
		if cp, ok := c.Command.(*instructions.CopyCommand); ok && cp.From != "" {
			if p := d.stageByName(cp.From, final.index); p != nil {
				cands = append(cands, p)
			} else if i, err := strconv.Atoi(cp.From); err == nil && i >= 0 && i < final.index {
				cands = append(cands, &d.stages[i])
			}
		}
	}
	for i := final.index - 1; i >= 0; i-- {
		cands = append(cands, &d.stages[i])
	}
	for _, c := range cands {
		if b := d.rootBase(c); !noShellBase(b) && !strings.Contains(b, "$") {
			if c.Name != "" {
				return c.Name // already built: no second base to pull
			}
			return b
		}
	}
	return ""
}
