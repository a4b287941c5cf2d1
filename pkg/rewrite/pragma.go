package rewrite

import (
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/imgharden/imgharden/pkg/finding"
)

// pragmaPrefix starts an inline suppression in the comment block right above an instruction:
//
//	# imgharden:ignore=IH3001,apt-lists-not-removed the app writes to /data as root
//
// IDs or slugs, comma separated, then a reason. A pragma without a reason is ignored.
const pragmaPrefix = "imgharden:ignore="

// suppressed reports whether the comments above n silence rule r.
func suppressed(n *parser.Node, r *finding.Rule) bool {
	for _, c := range n.PrevComment {
		c = strings.TrimSpace(c)
		if !strings.HasPrefix(c, pragmaPrefix) {
			continue
		}
		ids, reason, _ := strings.Cut(strings.TrimPrefix(c, pragmaPrefix), " ")
		if strings.TrimSpace(reason) == "" {
			continue
		}
		for _, id := range strings.Split(ids, ",") {
			if strings.EqualFold(id, r.ID) || strings.EqualFold(id, r.Slug) {
				return true
			}
		}
	}
	return false
}
