package policy

import (
	"errors"
	"path"
	"regexp"
	"strings"
)

// Path globs match finding paths segment by segment. "*", "?" and "[...]" work as in
// path.Match within one segment; a "**" segment matches any number of segments, none
// included, so "/usr/lib/**" matches /usr/lib and everything under it. A leading "/" is
// optional on both sides: "usr/bin/su" and "/usr/bin/su" are the same pattern, and
// "Dockerfile" matches a Dockerfile finding's path.

func checkPathGlob(pat string) error {
	if strings.TrimSpace(pat) == "" {
		return errors.New("empty pattern")
	}
	for _, seg := range splitGlob(pat) {
		if seg == "**" {
			continue
		}
		if strings.Contains(seg, "**") {
			return errors.New(`"**" must be a whole path segment, as in /usr/lib/**`)
		}
		if _, err := path.Match(seg, ""); err != nil {
			return errors.New("malformed pattern (unclosed [ or trailing \\)")
		}
	}
	return nil
}

func splitGlob(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// pathSegs splits a finding path the way globs are split.
func pathSegs(p string) []string { return splitGlob(path.Clean("/" + p)) }

// matchSegs matches split glob segments against split path segments.
func matchSegs(pat, segs []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for len(pat) > 0 && pat[0] == "**" {
				pat = pat[1:]
			}
			if len(pat) == 0 {
				return true
			}
			for i := 0; i <= len(segs); i++ {
				if matchSegs(pat, segs[i:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], segs[0]); !ok {
			return false
		}
		pat, segs = pat[1:], segs[1:]
	}
	return len(segs) == 0
}

// imageGlob compiles an image reference glob: "*" matches any run of characters ("/" and ":"
// included), "?" one character, everything else itself.
func imageGlob(pat string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for _, r := range pat {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}
