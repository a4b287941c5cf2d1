package checks

import (
	"context"

	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
)

// RuleNetworkTool reports network and exfiltration tools in the image's bin directories.
var RuleNetworkTool = &finding.Rule{
	ID: "IH1004", Slug: "network-tool", Title: "Image contains a network or exfiltration tool",
	Severity: finding.SeverityMedium, Category: finding.CategoryImageFS,
	Description: "A program that downloads, uploads or opens network connections (curl, wget, nc/netcat/ncat, " +
		"socat, telnet, ssh/scp/sftp, ftp, tftp, nmap, tcpdump) sits in a bin directory of the final root " +
		"filesystem or of the image's PATH, busybox applet links included. These are the first tools an " +
		"attacker reaches for to fetch a payload, open a reverse shell or carry data out.",
	Remediation: "Do downloads in a builder stage and copy only the results into the final stage; if a health " +
		"check needs HTTP, build it into the application instead of shipping curl or wget. " +
		"Each finding names the package that owns the file and the command that removes it, read from the image's own package database (dpkg, apk; rpm images get the rpm -qf command that names it).",
	Refs: []string{"ecs:R5"},
}

var networkTools = toolSet{
	"curl": true, "wget": true, "nc": true, "netcat": true, "ncat": true, "socat": true,
	"telnet": true, "ssh": true, "scp": true, "sftp": true, "ftp": true, "tftp": true,
	"nmap": true, "tcpdump": true,
}

type networkTool struct{ packageOwners }

func (networkTool) Rules() []*finding.Rule { return []*finding.Rule{RuleNetworkTool} }

func (networkTool) CheckImage(_ context.Context, v *analyze.View, r analyze.Reporter) error {
	reportTools(v, r, RuleNetworkTool, networkTools, "a network tool")
	return nil
}
