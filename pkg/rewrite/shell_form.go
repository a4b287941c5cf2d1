package rewrite

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/imgharden/imgharden/pkg/finding"
)

// RuleShellForm: ENTRYPOINT or CMD in shell form.
var RuleShellForm = &finding.Rule{
	ID: "IH3006", Slug: "shell-form-entrypoint", Title: "ENTRYPOINT or CMD in shell form",
	Severity: finding.SeverityLow, Category: finding.CategoryDocker,
	Description: "The shell form runs the command as `/bin/sh -c \"...\"`: the image needs a shell, the " +
		"process is not PID 1 and does not get SIGTERM, and the command depends on shell parsing.",
	Remediation: `ENTRYPOINT ["/app/server", "--port", "8080"]`,
	Refs:        []string{"ecs:R5", "buildkit:JSONArgsRecommended"},
}

// shellMeta are characters whose meaning depends on the shell; a command without any of them
// is a plain word list that exec form runs the same way.
const shellMeta = "$`\\\"'|&;<>()*?[]{}~#!=\n\r"

// jsonArray writes args as a JSON array the way the Dockerfile reference shows it.
func jsonArray(args []string) string {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, a := range args {
		if i > 0 {
			b.WriteString(", ")
		}
		var one bytes.Buffer
		enc := json.NewEncoder(&one)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(a) // a string always encodes
		b.Write(bytes.TrimSpace(one.Bytes()))
	}
	b.WriteByte(']')
	return b.String()
}

func jsonForm(_ context.Context, _ *state, d *doc) ([]edit, []note, error) {
	var edits []edit
	var notes []note
	for _, s := range d.stages {
		shell := []string{"/bin/sh", "-c"}
		hasCmd, hasEntrypoint := false, false
		for _, c := range s.cmds {
			switch c.Command.(type) {
			case *instructions.CmdCommand:
				hasCmd = true
			case *instructions.EntrypointCommand:
				hasEntrypoint = true
			}
		}
		for _, c := range s.cmds {
			var line instructions.ShellDependantCmdLine
			var name string
			switch x := c.Command.(type) {
			case *instructions.ShellCommand:
				shell = x.Shell
				continue
			case *instructions.CmdCommand:
				line, name = x.ShellDependantCmdLine, "CMD"
			case *instructions.EntrypointCommand:
				line, name = x.ShellDependantCmdLine, "ENTRYPOINT"
			default:
				continue
			}
			if !line.PrependShell || len(line.CmdLine) != 1 || suppressed(c.node, RuleShellForm) {
				continue
			}
			command := strings.TrimSpace(line.CmdLine[0])
			if command == "" {
				continue
			}
			// Plain words run the same way without a shell, unless CMD arguments would then be
			// appended to the ENTRYPOINT (or a CMD become arguments of an ENTRYPOINT).
			plain := !strings.ContainsAny(command, shellMeta)
			if name == "ENTRYPOINT" && hasCmd || name == "CMD" && hasEntrypoint {
				plain = false
			}
			var args []string
			if plain {
				args = strings.Fields(command)
			} else {
				args = append(append([]string{}, shell...), command)
			}
			first := d.lines[c.node.StartLine-1]
			last := d.lines[c.node.EndLine-1]
			k := keyword(first)
			nl := indent(first) + k + " " + jsonArray(args) + last[len(trimEOL(last)):]
			summary := name + " in shell form → exec form " + jsonArray(args)
			if !plain {
				summary += " (keeps the shell: the command uses shell syntax)"
				notes = append(notes, note{RuleShellForm, c.node.StartLine,
					name + " needs a shell (" + shell[0] + "): rewritten to an explicit shell call; run the program directly if it can", ""})
			}
			edits = append(edits, replaceLines(c.node.StartLine, c.node.EndLine, nl, RuleShellForm, summary))
		}
	}
	return edits, notes, nil
}
