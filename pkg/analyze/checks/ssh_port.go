package checks

import (
	"context"
	"sort"
	"strings"

	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
)

// RuleSSHPort reports images that expose the SSH port.
var RuleSSHPort = &finding.Rule{
	ID: "IH2003", Slug: "ssh-port", Title: "Image exposes port 22 (SSH)",
	Severity: finding.SeverityLow, Category: finding.CategoryConfig,
	Description: "The image config exposes 22/tcp, the SSH port. Containers should not run an SSH server: it is one " +
		"more service to attack and to keep patched, and a way around the platform's access control and audit " +
		"trail (use ECS Exec to get into a task).",
	Remediation: "Remove EXPOSE 22 and the SSH server from the image; use ECS Exec (aws ecs execute-command) for " +
		"interactive access.",
	Refs: []string{"ecs:R5", "cis-docker:5.6"},
}

type sshPort struct{}

func (sshPort) Rules() []*finding.Rule { return []*finding.Rule{RuleSSHPort} }

func (sshPort) CheckImage(_ context.Context, v *analyze.View, r analyze.Reporter) error {
	var ports []string
	for p := range v.Config().Config.ExposedPorts {
		num, proto, _ := strings.Cut(p, "/")
		if strings.TrimSpace(num) == "22" && (proto == "" || strings.EqualFold(proto, "tcp")) {
			ports = append(ports, p)
		}
	}
	sort.Strings(ports)
	for _, p := range ports {
		loc := v.ConfigLocation()
		loc.CreatedBy = lastInstruction(v, "EXPOSE")
		r.Report(nil, finding.New(RuleSSHPort, loc, "the image exposes the SSH port "+p, "ExposedPorts: "+p))
	}
	return nil
}
