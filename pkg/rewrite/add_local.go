package rewrite

import (
	"context"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/imgharden/imgharden/pkg/finding"
)

// RuleAddLocal: ADD of local files or directories, where COPY does the same without ADD's
// implicit URL fetching and archive unpacking.
var RuleAddLocal = &finding.Rule{
	ID: "IH3003", Slug: "add-local-files", Title: "ADD used for local files where COPY does the same",
	Severity: finding.SeverityLow, Category: finding.CategoryDocker,
	Description: "ADD also fetches URLs and unpacks local tar archives, so a reader cannot tell from the " +
		"instruction what lands in the image. For plain local files and directories COPY has the same " +
		"effect and none of the surprises.",
	Remediation: "Use COPY for local files; keep ADD only for archives that must be unpacked or for " +
		"remote sources pinned with --checksum.",
	Refs: []string{"ecs:R1", "cis-docker:4.9"},
}

// archiveExts are sources ADD would unpack; they keep ADD.
var archiveExts = []string{".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tbz2", ".tar.xz", ".txz",
	".tar.zst", ".tzst", ".gz", ".bz2", ".xz", ".zst", ".lz4"}

func isRemoteSource(s string) bool {
	return strings.Contains(s, "://") || strings.HasPrefix(s, "git@")
}

func addToCopy(_ context.Context, _ *state, d *doc) ([]edit, []note, error) {
	var edits []edit
	for _, s := range d.stages {
		for _, c := range s.cmds {
			a, ok := c.Command.(*instructions.AddCommand)
			if !ok || suppressed(c.node, RuleAddLocal) {
				continue
			}
			if a.Checksum != "" || a.KeepGitDir != nil || a.Unpack != nil {
				continue // ADD-only flags
			}
			local := true
			for _, src := range a.SourcePaths {
				l := strings.ToLower(src)
				if isRemoteSource(l) || strings.Contains(l, "$") {
					local = false
				}
				for _, ext := range archiveExts {
					if strings.HasSuffix(l, ext) {
						local = false
					}
				}
			}
			if !local {
				continue
			}
			line := d.lines[c.node.StartLine-1]
			k := keyword(line)
			i := strings.Index(line, k)
			repl := "COPY"
			if k == strings.ToLower(k) {
				repl = "copy"
			}
			nl := line[:i] + repl + line[i+len(k):]
			edits = append(edits, replaceLines(c.node.StartLine, c.node.StartLine, nl, RuleAddLocal,
				"ADD "+strings.Join(a.SourcePaths, " ")+" → COPY (local files: same effect, no URL fetch or unpacking)"))
		}
	}
	return edits, nil, nil
}
