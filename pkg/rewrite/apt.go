package rewrite

import (
	"context"
	"regexp"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/imgharden/imgharden/pkg/finding"
)

// RuleAptRecommends: apt-get install without --no-install-recommends.
var RuleAptRecommends = &finding.Rule{
	ID: "IH3004", Slug: "apt-install-recommends", Title: "apt-get install pulls recommended packages",
	Severity: finding.SeverityLow, Category: finding.CategoryDocker,
	Description: "Without --no-install-recommends apt installs every package the requested ones merely " +
		"recommend: more files, more binaries, more CVEs, none of which the build asked for.",
	Remediation: "apt-get install -y --no-install-recommends PACKAGE...",
	Refs:        []string{"ecs:R1", "hadolint:DL3015"},
}

// RuleAptLists: apt package lists left in the layer that downloaded them.
var RuleAptLists = &finding.Rule{
	ID: "IH3005", Slug: "apt-lists-not-removed", Title: "apt package lists left in the image",
	Severity: finding.SeverityLow, Category: finding.CategoryDocker,
	Description: "apt-get update downloads package lists to /var/lib/apt/lists. Unless the same RUN " +
		"removes them they stay in that layer for good: tens of megabytes a later RUN cannot take back.",
	Remediation: "End the RUN that calls apt-get update with `&& rm -rf /var/lib/apt/lists/*`, or use a " +
		"cache mount for /var/lib/apt.",
	Refs: []string{"ecs:R1", "hadolint:DL3009"},
}

const aptCleanup = "rm -rf /var/lib/apt/lists/*"

// aptCall finds apt-get/apt in command position; the segment up to the next command separator
// holds its arguments.
var (
	reAptCall = regexp.MustCompile(`(?:^|[\s;&|(])(?:/usr/bin/)?(apt-get|apt)[ \t]`)
	reInstall = regexp.MustCompile(`(?:^|\s)install\b`)
	reNoRecs  = regexp.MustCompile(`--no-install-recommends|Install-Recommends[= ]+(?:false|0|no)`)
	reUpdate  = regexp.MustCompile(`(?:^|\s)update\b`)
	reListsRm = regexp.MustCompile(`\brm\s[^;&|]*/var/lib/apt/lists`)
)

// aptSegments yields the argument text of each apt call in a shell command: [start,end) byte
// offsets into s of what follows the program name.
func aptSegments(s string) [][2]int {
	var out [][2]int
	for _, m := range reAptCall.FindAllStringIndex(s, -1) {
		start := m[1] - 1
		out = append(out, [2]int{start, commandEnd(s, start)})
	}
	return out
}

// shellRun returns a RUN in shell form, or nil.
func shellRun(c cmd) *instructions.RunCommand {
	r, ok := c.Command.(*instructions.RunCommand)
	if !ok || !r.PrependShell {
		return nil
	}
	return r
}

func aptNoRecommends(_ context.Context, _ *state, d *doc) ([]edit, []note, error) {
	var edits []edit
	for _, s := range d.stages {
		for _, c := range s.cmds {
			if shellRun(c) == nil || suppressed(c.node, RuleAptRecommends) {
				continue
			}
			text := d.text(c.node.StartLine, c.node.EndLine)
			var b strings.Builder
			last, n := 0, 0
			for _, seg := range aptSegments(text) {
				args := text[seg[0]:seg[1]]
				im := reInstall.FindStringIndex(args)
				if im == nil || reNoRecs.MatchString(args) {
					continue
				}
				at := seg[0] + im[1]
				b.WriteString(text[last:at])
				b.WriteString(" --no-install-recommends")
				last = at
				n++
			}
			if n == 0 {
				continue
			}
			b.WriteString(text[last:])
			edits = append(edits, replaceLines(c.node.StartLine, c.node.EndLine, b.String(), RuleAptRecommends,
				"apt-get install → --no-install-recommends"))
		}
	}
	return edits, nil, nil
}

func aptListsCleanup(_ context.Context, _ *state, d *doc) ([]edit, []note, error) {
	var edits []edit
	var notes []note
	for _, s := range d.stages {
		for _, c := range s.cmds {
			run := shellRun(c)
			if run == nil || suppressed(c.node, RuleAptLists) {
				continue
			}
			text := d.text(c.node.StartLine, c.node.EndLine)
			updates := false
			for _, seg := range aptSegments(text) {
				if reUpdate.MatchString(text[seg[0]:seg[1]]) {
					updates = true
				}
			}
			if !updates || reListsRm.MatchString(text) || cacheMountsAptLists(text) {
				continue
			}
			if len(run.Files) > 0 {
				notes = append(notes, note{RuleAptLists, c.node.StartLine,
					"RUN with a heredoc calls apt-get update but does not remove /var/lib/apt/lists; add `" + aptCleanup + "` at its end", ""})
				continue
			}
			lastNo := c.node.EndLine
			last := d.lines[lastNo-1]
			body := strings.TrimRight(trimEOL(last), " \t")
			eol := last[len(trimEOL(last)):]
			if hasShellComment(body) || strings.HasSuffix(body, "&&") || strings.HasSuffix(body, "||") ||
				strings.HasSuffix(body, "|") || strings.HasSuffix(body, "&") {
				notes = append(notes, note{RuleAptLists, c.node.StartLine,
					"RUN calls apt-get update but does not remove /var/lib/apt/lists; add `&& " + aptCleanup + "` at its end", ""})
				continue
			}
			var nl string
			switch {
			case strings.HasSuffix(body, ";"):
				nl = body + " " + aptCleanup + eol
			case c.node.StartLine == c.node.EndLine:
				nl = body + " && " + aptCleanup + eol
			default:
				if eol == "" {
					eol = d.eol
				}
				nl = body + " " + string(d.escape) + eol + indent(last) + "&& " + aptCleanup + eol
				if eol == d.eol && last[len(trimEOL(last)):] == "" {
					nl = strings.TrimSuffix(nl, eol)
				}
			}
			edits = append(edits, replaceLines(lastNo, lastNo, nl, RuleAptLists,
				"RUN with apt-get update → removes /var/lib/apt/lists/* in the same layer"))
		}
	}
	return edits, notes, nil
}

// commandEnd is the offset of the first command separator at or after i: ; & | or a newline
// that no escape character continues.
func commandEnd(s string, i int) int {
	for ; i < len(s); i++ {
		switch s[i] {
		case ';', '&', '|':
			return i
		case '\n':
			j := i - 1
			if j >= 0 && s[j] == '\r' {
				j--
			}
			if j < 0 || (s[j] != '\\' && s[j] != '`') {
				return i
			}
		}
	}
	return len(s)
}

// hasShellComment reports a '#' that starts a shell comment (after white space).
func hasShellComment(s string) bool {
	return strings.Contains(s, " #") || strings.Contains(s, "\t#")
}

var reAptCacheMount = regexp.MustCompile(`--mount=\S*type=cache\S*target=/var/lib/apt(/lists)?[,\s]|--mount=\S*target=/var/lib/apt(/lists)?,\S*type=cache`)

// cacheMountsAptLists reports a RUN --mount=type=cache over /var/lib/apt: its lists never
// reach the layer.
func cacheMountsAptLists(text string) bool { return reAptCacheMount.MatchString(text) }
