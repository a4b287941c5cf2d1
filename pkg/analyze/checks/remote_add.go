package checks

import (
	"context"
	"net/url"
	"regexp"
	"strings"

	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
)

// RuleRemoteAdd reports ADD instructions that fetched a URL without a pinned checksum.
var RuleRemoteAdd = &finding.Rule{
	ID: "IH2004", Slug: "remote-add", Title: "ADD fetched a remote URL without a checksum",
	Severity: finding.SeverityLow, Category: finding.CategoryConfig,
	Description: "The image history shows an ADD instruction with an http(s), ftp or git source and no --checksum. " +
		"Whatever the server returned at build time went into the image unverified: a compromised or changed " +
		"download silently changes the image, and the build cannot be reproduced.",
	Remediation: "Pin the download with ADD --checksum=sha256:... (BuildKit), or download and verify it in a builder " +
		"stage (curl -fsSLO URL && echo \"SHA256  file\" | sha256sum -c) and COPY the result.",
	Refs: []string{"ecs:R6", "cis-docker:4.9"},
}

var remoteSource = regexp.MustCompile(`(?i)(?:https?|ftp|git)://[^\s"',\]]+|git@[^\s"',\]]+`)

type remoteAdd struct{}

func (remoteAdd) Rules() []*finding.Rule { return []*finding.Rule{RuleRemoteAdd} }

func (remoteAdd) CheckImage(_ context.Context, v *analyze.View, r analyze.Reporter) error {
	for _, h := range v.History() {
		kw, rest := instruction(h.CreatedBy)
		if kw != "ADD" || strings.Contains(rest, "--checksum=") {
			continue
		}
		raw := remoteSource.FindString(rest)
		if raw == "" {
			continue
		}
		url := redactURL(raw)
		loc := v.LayerLocation(h.Layer)
		// The URL may carry credentials: the finding shows the instruction with them masked.
		loc.CreatedBy = strings.Replace(strings.TrimSpace(h.CreatedBy), raw, url, 1)
		r.Report(nil, finding.New(RuleRemoteAdd, loc, "ADD downloaded "+url+" without --checksum", "ADD "+url))
	}
	return nil
}

// redactURL masks what in a URL may be a credential: the userinfo (password, or a lone
// token in the user part) and query values. A URL that does not parse is cut after the scheme.
func redactURL(raw string) string {
	if strings.HasPrefix(raw, "git@") {
		return raw // scp-style git source: the user is always "git"
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		scheme, _, _ := strings.Cut(raw, "://")
		return scheme + "://****"
	}
	var b strings.Builder
	b.WriteString(u.Scheme + "://")
	if u.User != nil {
		if p, ok := u.User.Password(); ok {
			b.WriteString(u.User.Username() + ":" + finding.Redact(p) + "@")
		} else {
			b.WriteString(finding.Redact(u.User.Username()) + "@")
		}
	}
	b.WriteString(u.Host + u.EscapedPath())
	if u.RawQuery != "" {
		parts := strings.Split(u.RawQuery, "&")
		for i, kv := range parts {
			if k, v, ok := strings.Cut(kv, "="); ok {
				parts[i] = k + "=" + finding.Redact(v)
			}
		}
		b.WriteString("?" + strings.Join(parts, "&"))
	}
	if u.Fragment != "" {
		b.WriteString("#" + u.EscapedFragment())
	}
	return b.String()
}
