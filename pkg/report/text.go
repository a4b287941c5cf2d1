package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/imgharden/imgharden/pkg/finding"
)

// The text format, for people at a terminal:
//
//	registry.example.com/app:1.0 · sha256:0123456789ab · linux/amd64 · user app
//
//	CRITICAL  IH4001  /app/.env  AWS secret access key
//	          layer 2: COPY . /app · (removed in a later layer) · evidence: wJal************EKEY
//	HIGH      IH1001  /usr/bin/passwd  passwd can run with its owner's privileges
//	          layer 0: ADD rootfs.tar / · evidence: mode=04755 uid=0
//
//	2 findings: 1 critical, 1 high, 0 medium, 0 low, 0 info (3 suppressed)
//
// Findings are grouped by severity, most severe first, keeping their order within a group.
// The second line is left out when there is no layer, marker or evidence to show. Every string
// that comes from the image is printed with control characters escaped, so a file name
// cannot move the cursor or recolour the terminal.

// createdByWidth is how much of a history line the text format shows.
const createdByWidth = 60

type textWriter struct{ color bool }

var severityColor = map[finding.Severity]string{
	finding.SeverityCritical: "\x1b[1;31m", // bold red
	finding.SeverityHigh:     "\x1b[31m",   // red
	finding.SeverityMedium:   "\x1b[33m",   // yellow
	finding.SeverityLow:      "\x1b[36m",   // cyan
	finding.SeverityInfo:     "\x1b[2m",    // dim
}

const (
	ansiReset = "\x1b[0m"
	ansiDim   = "\x1b[2m"
)

// severityWidth pads severity labels to the longest one, "CRITICAL".
const severityWidth = len("CRITICAL")

func (t *textWriter) Write(w io.Writer, r *Report) error {
	if err := checkReport(r); err != nil {
		return err
	}
	var b strings.Builder
	if h := header(r.Image); h != "" {
		b.WriteString(h)
		b.WriteString("\n\n")
	}
	sevs := finding.Severities()
	wrote := false
	for i := len(sevs) - 1; i >= 0; i-- {
		group := false
		for _, f := range r.Findings {
			if f.Severity != sevs[i] {
				continue
			}
			if !group && wrote {
				b.WriteString("\n")
			}
			group, wrote = true, true
			t.finding(&b, f)
		}
	}
	if wrote {
		b.WriteString("\n")
	}
	b.WriteString(summary(r.Findings, r.Suppressed))
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func (t *textWriter) finding(b *strings.Builder, f finding.Finding) {
	label := strings.ToUpper(f.Severity.String())
	pad := strings.Repeat(" ", severityWidth-len(label)+2)
	if t.color {
		label = severityColor[f.Severity] + label + ansiReset
	}
	fmt.Fprintf(b, "%s%s%s  %s  %s\n", label, pad, clean(f.RuleID), where(f.Location), clean(f.Message))

	var parts []string
	loc := f.Location
	if loc.LayerIndex >= 0 {
		layer := "layer " + strconv.Itoa(loc.LayerIndex)
		if cb := shortCreatedBy(loc.CreatedBy); cb != "" {
			layer += ": " + cb
		}
		parts = append(parts, layer)
	}
	if loc.Removed {
		parts = append(parts, "(removed in a later layer)")
	}
	if f.Evidence != "" {
		parts = append(parts, "evidence: "+clean(evidence(f.Evidence)))
	}
	if len(parts) == 0 {
		return
	}
	line := strings.Join(parts, " · ")
	if t.color {
		line = ansiDim + line + ansiReset
	}
	fmt.Fprintf(b, "%s%s\n", strings.Repeat(" ", severityWidth+2), line)
}

// where names what a finding is about: a path (with its line), an ENV variable, a label, or
// the image config.
func where(l finding.Location) string {
	switch {
	case l.Path != "" && l.Line > 0:
		return clean(l.Path) + ":" + strconv.Itoa(l.Line)
	case l.Path != "":
		return clean(l.Path)
	case l.Env != "":
		return "ENV " + clean(l.Env)
	case l.Label != "":
		return "LABEL " + clean(l.Label)
	}
	return "image config"
}

func header(img Image) string {
	var parts []string
	for _, p := range []string{img.Ref, short(img.Digest), img.Platform} {
		if p != "" {
			parts = append(parts, clean(p))
		}
	}
	if img.User != "" {
		parts = append(parts, "user "+clean(img.User))
	}
	return strings.Join(parts, " · ")
}

// short cuts a digest to "sha256:" and 12 hex digits.
func short(digest string) string {
	if alg, hex, ok := strings.Cut(digest, ":"); ok && len(hex) > 12 {
		return alg + ":" + hex[:12]
	}
	return digest
}

func summary(fs []finding.Finding, suppressed int) string {
	c := counts(fs)
	noun := "findings"
	if len(fs) == 1 {
		noun = "finding"
	}
	s := fmt.Sprintf("%d %s", len(fs), noun)
	if len(fs) > 0 {
		sevs := finding.Severities()
		var per []string
		for i := len(sevs) - 1; i >= 0; i-- {
			per = append(per, fmt.Sprintf("%d %s", c[sevs[i]], sevs[i]))
		}
		s += ": " + strings.Join(per, ", ")
	}
	if suppressed > 0 {
		s += fmt.Sprintf(" (%d suppressed)", suppressed)
	}
	return s
}

// shortCreatedBy turns a history line into the instruction a user wrote, on one line, cut to
// createdByWidth runes: "/bin/sh -c #(nop)  COPY file:ab… in /app" becomes "COPY file:ab… in
// /app", and "/bin/sh -c apt-get update" or BuildKit's "RUN /bin/sh -c apt-get update #
// buildkit" becomes "RUN apt-get update".
func shortCreatedBy(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.TrimSuffix(s, " # buildkit")
	const shell = "/bin/sh -c "
	switch {
	case strings.HasPrefix(s, shell+"#(nop) "):
		s = strings.TrimPrefix(s, shell+"#(nop) ")
	case strings.HasPrefix(s, "RUN "+shell):
		s = "RUN " + strings.TrimPrefix(s, "RUN "+shell)
	case strings.HasPrefix(s, shell):
		s = "RUN " + strings.TrimPrefix(s, shell)
	case strings.HasPrefix(s, "|"):
		// Classic builder with build args: "|2 A=1 B=2 /bin/sh -c make".
		if i := strings.Index(s, " "+shell); i >= 0 {
			s = "RUN " + s[i+1+len(shell):]
		}
	}
	s = clean(s)
	if utf8.RuneCountInString(s) > createdByWidth {
		s = string([]rune(s)[:createdByWidth-1]) + "…"
	}
	return s
}

// clean escapes what a terminal would interpret: C0 and C1 control characters, DEL, bidi
// overrides and invalid UTF-8. Everything else is printed as is.
func clean(s string) string {
	safe := true
	for _, r := range s {
		if unsafeRune(r) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafeRune(r) && r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += n
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	switch {
	case r == utf8.RuneError:
		return true
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f:
		return true
	}
	return false
}
