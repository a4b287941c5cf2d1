package rewrite

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// ParseError is a Dockerfile that buildkit's parser refuses. Line is 1-based (0 when the
// parser gave none); Msg is the parser's own message.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// doc is a parsed Dockerfile that still has its exact text. Lines keep their terminators, so
// joining them gives the input back byte for byte; the parser counts lines the same way (it
// splits on '\n' only), so node line numbers index lines directly (1-based).
type doc struct {
	name     string
	src      []byte
	lines    []string // each with its terminator ("\n", "\r\n" or none for a last line without one)
	eol      string   // line ending for inserted lines: the file's first one, "\n" by default
	escape   rune
	nodes    []*parser.Node
	stages   []stage
	metaArgs []instructions.ArgCommand
	lower    bool // instructions are written in lower case (keep new ones consistent)
}

// stage is one build stage with its instructions and their nodes (same order).
type stage struct {
	instructions.Stage
	index int
	from  *parser.Node
	cmds  []cmd
}

type cmd struct {
	instructions.Command
	node *parser.Node
}

func splitLines(src []byte) []string {
	var out []string
	for len(src) > 0 {
		i := bytes.IndexByte(src, '\n')
		if i < 0 {
			out = append(out, string(src))
			break
		}
		out = append(out, string(src[:i+1]))
		src = src[i+1:]
	}
	return out
}

func parseDoc(name string, src []byte) (*doc, error) {
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return nil, toParseError(name, err)
	}
	d := &doc{name: name, src: src, lines: splitLines(src), eol: "\n", escape: res.EscapeToken}
	if i := bytes.IndexByte(src, '\n'); i > 0 && src[i-1] == '\r' {
		d.eol = "\r\n"
	}
	d.nodes = res.AST.Children
	// Parse node by node so an error carries the node's line (instructions.Parse only puts
	// the line in its message).
	upper, lower := 0, 0
	var cur *stage
	for _, n := range d.nodes {
		v, err := instructions.ParseInstruction(n)
		if err != nil {
			var le *parser.LocationError
			msg := err.Error()
			if errors.As(err, &le) {
				msg = le.Unwrap().Error()
			}
			return nil, &ParseError{File: name, Line: n.StartLine, Msg: msg}
		}
		kw := keyword(d.lines[n.StartLine-1])
		switch {
		case kw == strings.ToUpper(kw):
			upper++
		case kw == strings.ToLower(kw):
			lower++
		}
		switch c := v.(type) {
		case *instructions.Stage:
			d.stages = append(d.stages, stage{Stage: *c, index: len(d.stages), from: n})
			cur = &d.stages[len(d.stages)-1]
		case *instructions.ArgCommand:
			if cur == nil {
				d.metaArgs = append(d.metaArgs, *c)
				continue
			}
			cur.cmds = append(cur.cmds, cmd{Command: c, node: n})
		case instructions.Command:
			if cur == nil {
				return nil, &ParseError{File: name, Line: n.StartLine, Msg: "no build stage in current context"}
			}
			cur.cmds = append(cur.cmds, cmd{Command: c, node: n})
		default:
			return nil, &ParseError{File: name, Line: n.StartLine, Msg: fmt.Sprintf("%T is not a command type", v)}
		}
	}
	if len(d.stages) == 0 {
		return nil, &ParseError{File: name, Msg: "dockerfile contains no stages to build"}
	}
	d.lower = lower > upper
	return d, nil
}

func toParseError(name string, err error) error {
	pe := &ParseError{File: name, Msg: err.Error()}
	var le *parser.LocationError
	if errors.As(err, &le) {
		pe.Msg = le.Unwrap().Error()
		for _, rs := range le.Locations {
			if len(rs) > 0 {
				pe.Line = rs[0].Start.Line
				break
			}
		}
	}
	return pe
}

// keyword returns the instruction keyword at the start of line, as written.
func keyword(line string) string {
	s := strings.TrimLeft(line, " \t\ufeff")
	i := strings.IndexAny(s, " \t\r\n")
	if i < 0 {
		return s
	}
	return s[:i]
}

// kw spells an instruction keyword in the file's case.
func (d *doc) kw(k string) string {
	if d.lower {
		return strings.ToLower(k)
	}
	return strings.ToUpper(k)
}

// text is the exact source of lines [start, end] (1-based, inclusive).
func (d *doc) text(start, end int) string {
	return strings.Join(d.lines[start-1:end], "")
}

// final is the last stage: the one a plain build produces.
func (d *doc) final() *stage { return &d.stages[len(d.stages)-1] }

// stageByName finds a stage by name (case-insensitive, as buildkit does) before index before.
func (d *doc) stageByName(name string, before int) *stage {
	for i := before - 1; i >= 0; i-- {
		if d.stages[i].Name != "" && strings.EqualFold(d.stages[i].Name, name) {
			return &d.stages[i]
		}
	}
	return nil
}

// rootBase follows FROM <stage> chains to the external base image name ("scratch" included).
func (d *doc) rootBase(s *stage) string {
	for hops := 0; hops < len(d.stages); hops++ {
		p := d.stageByName(s.BaseName, s.index)
		if p == nil {
			return s.BaseName
		}
		s = p
	}
	return s.BaseName
}

// endLine is the last line of the stage's last instruction.
func (s *stage) endLine() int {
	if len(s.cmds) == 0 {
		return s.from.EndLine
	}
	return s.cmds[len(s.cmds)-1].node.EndLine
}

// indent is the leading white space of a line.
func indent(line string) string {
	return line[:len(line)-len(strings.TrimLeft(line, " \t"))]
}

// trimEOL removes the line terminator.
func trimEOL(s string) string {
	return strings.TrimRight(s, "\r\n")
}

// blockStart is the first line of the comment block right above n (n's own line when none),
// so text inserted before n does not separate it from its comments.
func (d *doc) blockStart(n *parser.Node) int {
	l := n.StartLine
	for l > 1 && strings.HasPrefix(strings.TrimLeft(d.lines[l-2], " \t"), "#") {
		l--
	}
	return l
}
