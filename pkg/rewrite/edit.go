package rewrite

import (
	"fmt"
	"sort"
	"strings"

	"github.com/imgharden/imgharden/pkg/finding"
)

// edit replaces lines [start, end] (1-based, inclusive) of the current text with text. An
// insertion before line start has end == start-1; start == len(lines)+1 appends. text holds
// whole lines with their terminators.
type edit struct {
	start, end int
	text       string
	rule       *finding.Rule
	anchor     int    // line of the instruction the change is about (current numbering)
	summary    string // one line for --explain
}

func replaceLines(start, end int, text string, r *finding.Rule, summary string) edit {
	return edit{start: start, end: end, text: text, rule: r, anchor: start, summary: summary}
}

func insertBefore(line int, text string, r *finding.Rule, anchor int, summary string) edit {
	return edit{start: line, end: line - 1, text: text, rule: r, anchor: anchor, summary: summary}
}

// apply performs non-overlapping edits on lines and returns the new lines with, for each new
// line, the original line it stands for (origin maps current lines to original ones).
func apply(lines []string, origin []int, eol string, edits []edit) ([]string, []int, error) {
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].start < edits[j].start })
	var out []string
	var outOrigin []int
	next := 1 // next current line to copy
	for _, e := range edits {
		if e.start < next || e.end < e.start-1 || e.end > len(lines) {
			return nil, nil, fmt.Errorf("internal: overlapping or invalid edit at line %d (%s)", e.start, e.rule.ID)
		}
		for ; next < e.start; next++ {
			out = append(out, lines[next-1])
			outOrigin = append(outOrigin, origin[next-1])
		}
		// Text inserted after a last line without a terminator needs one first.
		if len(out) > 0 && !strings.HasSuffix(out[len(out)-1], "\n") && e.text != "" {
			out[len(out)-1] += eol
		}
		at := e.anchor
		if at >= 1 && at <= len(origin) {
			at = origin[at-1]
		} else if len(origin) > 0 {
			at = origin[len(origin)-1]
		}
		for _, l := range splitLines([]byte(e.text)) {
			out = append(out, l)
			outOrigin = append(outOrigin, at)
		}
		next = e.end + 1
	}
	for ; next <= len(lines); next++ {
		if len(out) > 0 && !strings.HasSuffix(out[len(out)-1], "\n") {
			out[len(out)-1] += eol
		}
		out = append(out, lines[next-1])
		outOrigin = append(outOrigin, origin[next-1])
	}
	return out, outOrigin, nil
}
