package rewrite

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imgharden/imgharden/pkg/finding"
)

// RulePinBase: a base image referenced by a mutable tag.
var RulePinBase = &finding.Rule{
	ID: "IH3002", Slug: "unpinned-base-image", Title: "Base image not pinned by digest",
	Severity: finding.SeverityMedium, Category: finding.CategoryDocker,
	Description: "A tag can be moved to another image at any time, so the same Dockerfile builds on a " +
		"different base tomorrow, possibly a compromised one. A digest names exactly one image.",
	Remediation: "FROM debian:bookworm@sha256:<digest> (keep the tag for readers; the digest wins)",
	Refs:        []string{"ecs:R3", "cis-docker:4.2"},
}

// DigestResolver returns the digest ("sha256:...") a registry serves for ref.
type DigestResolver func(ctx context.Context, ref string) (string, error)

// RemoteResolver asks the registry with ggcr (HEAD on the manifest; for a multi-platform tag
// that is the index digest, which keeps the Dockerfile multi-platform). Loopback registries
// are spoken to over plain HTTP, as ggcr does by default.
func RemoteResolver(opts ...remote.Option) DigestResolver {
	return func(ctx context.Context, ref string) (string, error) {
		r, err := name.ParseReference(ref)
		if err != nil {
			return "", err
		}
		o := append([]remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}, opts...)
		desc, err := remote.Head(r, o...)
		if err != nil {
			return "", err
		}
		return desc.Digest.String(), nil
	}
}

// unpinnedMark starts the comment left above a base that could not be pinned.
const unpinnedMark = "imgharden: base image not pinned by digest"

func pinBase(ctx context.Context, st *state, d *doc) ([]edit, []note, error) {
	var edits []edit
	var notes []note
	for i := range d.stages {
		s := &d.stages[i]
		base := s.BaseName
		if strings.EqualFold(base, "scratch") || d.stageByName(base, s.index) != nil ||
			strings.Contains(base, "@") || suppressed(s.from, RulePinBase) {
			continue
		}
		line := s.from.StartLine
		if strings.Contains(base, "$") {
			notes = append(notes, note{RulePinBase, line,
				"base image " + base + " comes from a build argument; pin a digest in the ARG default", base})
			continue
		}
		if !st.pin {
			notes = append(notes, note{RulePinBase, line, "base image " + base + " is not pinned by digest (pinning is off)", base})
			continue
		}
		dg, err := st.resolve(ctx, base)
		if err != nil {
			st.log.Warn("cannot pin base image", "image", base, "err", err)
			notes = append(notes, note{RulePinBase, line,
				fmt.Sprintf("base image %s is not pinned: the registry did not answer (%s)", base, oneLine(err.Error())), base})
			marked := false
			for _, c := range s.from.PrevComment {
				marked = marked || strings.HasPrefix(c, unpinnedMark)
			}
			if !marked {
				edits = append(edits, insertBefore(line, "# "+unpinnedMark+"; pin it with @sha256:..."+d.eol,
					RulePinBase, line, "FROM "+base+": registry did not answer, left unpinned with a comment"))
			}
			continue
		}
		first := d.lines[line-1]
		k := keyword(first)
		at := strings.Index(first, k) + len(k)
		j := strings.Index(first[at:], base)
		if j < 0 || s.from.EndLine != line {
			notes = append(notes, note{RulePinBase, line, "base image " + base + " is not pinned; its digest is " + dg, base})
			continue
		}
		j += at
		nl := first[:j] + base + "@" + dg + first[j+len(base):]
		start := line
		if line > 1 && strings.Contains(d.lines[line-2], unpinnedMark) {
			start-- // the registry answers now: drop the comment an earlier run left
		}
		e := replaceLines(start, line, nl, RulePinBase, "FROM "+base+" → pinned to "+dg)
		e.anchor = line
		edits = append(edits, e)
	}
	return edits, notes, nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
