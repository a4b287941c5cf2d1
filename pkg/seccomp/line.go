package seccomp

import "bytes"

// LineKind classifies one line of strace output.
type LineKind uint8

// Line kinds ParseLine tells apart.
const (
	LineOther         LineKind = iota // program output, blank line, anything unrecognised
	LineCall                          // "name(...": a syscall entry, complete or "<unfinished ...>"
	LineResumed                       // "<... name resumed>...": the end of an unfinished call
	LineExited                        // "+++ exited with N +++"
	LineKilled                        // "+++ killed by SIGKILL +++"
	LineSuperseded                    // "+++ superseded by execve in pid N +++"
	LineSignal                        // "--- SIGCHLD {...} ---"
	LinePersonality                   // "[ Process PID=N runs in 32 bit mode. ]"
	LineStack                         // " > /lib/libc.so.6(read+0x12) [0x...]" from -k
	LineSummaryHeader                 // "% time     seconds  usecs/call     calls    errors syscall"
	LineSummaryMode                   // "System call usage summary for 32 bit mode:"
	LineContinuation                  // ") = 28" or "<unfinished ...>": the end of a call line split by program output
	LineDetached                      // "strace: Process N detached"
)

var lineKindNames = [...]string{"other", "call", "resumed", "exited", "killed", "superseded",
	"signal", "personality", "stack", "summary-header", "summary-mode", "continuation", "detached"}

func (k LineKind) String() string {
	if int(k) < len(lineKindNames) {
		return lineKindNames[k]
	}
	return "?"
}

// Result is the outcome a call line shows after " = ".
type Result uint8

// Call outcomes.
const (
	ResultNone    Result = iota // no " = " on the line (unfinished, or split by program output)
	ResultOK                    // a value: "= 0", "= 3</etc/passwd>", "= 0x55d0c000"
	ResultError                 // "= -1 ENOENT (No such file or directory)"
	ResultUnknown               // "= ?": the call did not return (exit, exec in another thread, restart)
)

// Line is one parsed line. Name aliases the input slice.
type Line struct {
	Kind       LineKind
	PID        int    // from an "N " or "[pid N]" prefix, or the PID of a personality line; 0 if none
	Name       []byte // syscall name for LineCall and LineResumed
	Unfinished bool   // the call line ends in "<unfinished ...>"
	Result     Result
	Ret        int64 // the returned value when Result is ResultOK and decimal, else 0
	Bits       int   // LinePersonality and LineSummaryMode: 64 or 32; 0 for x32
	Attached   int   // N from "strace: Process N attached" anywhere on the line, else 0
}

// ParseLine classifies one line of strace output (without its newline). It never fails: a line
// it does not recognise is LineOther. It does not check names against the syscall tables.
func ParseLine(b []byte) Line {
	var l Line
	b = trimRight(b)
	i := 0
	first := true
	for {
		for i < len(b) && b[i] == ' ' {
			i++
		}
		if i >= len(b) {
			return l
		}
		c := b[i]
		if c == '[' {
			rest := b[i:]
			if bytes.HasPrefix(rest, pidPrefix) {
				j := i + len(pidPrefix)
				for j < len(b) && b[j] == ' ' {
					j++
				}
				pid, k := atoi(b, j)
				if k == j || k >= len(b) || b[k] != ']' {
					return l
				}
				l.PID = pid
				i = k + 1
				first = false
				continue
			}
			if bytes.HasPrefix(rest, personalityPrefix) {
				return parsePersonality(l, rest[len(personalityPrefix):])
			}
			// "-i" instruction pointer "[00007f...]" / "[????????]" or "-n" number "[ 59]".
			j := i + 1
			for j < len(b) && (isHex(b[j]) || b[j] == ' ' || b[j] == '?') {
				j++
			}
			if j > i+1 && j < len(b) && b[j] == ']' {
				i = j + 1
				first = false
				continue
			}
			break
		}
		if isDigit(c) {
			j, dots := i, false
			for j < len(b) && (isDigit(b[j]) || b[j] == '.' || b[j] == ':') {
				if b[j] != '.' && b[j] != ':' {
					j++
					continue
				}
				dots = true
				j++
			}
			if j >= len(b) || b[j] != ' ' {
				break
			}
			if !dots {
				if !first || j-i > 10 {
					break
				}
				l.PID, _ = atoi(b, i)
			}
			i = j
			first = false
			continue
		}
		break
	}
	rest := b[i:]
	switch rest[0] {
	case '<':
		if bytes.HasPrefix(rest, unfinishedSuffix) {
			// " <unfinished ...>" alone: program output split the call line before strace ended it.
			l.Kind, l.Unfinished = LineContinuation, true
			return l
		}
		if !bytes.HasPrefix(rest, resumedPrefix) {
			return l
		}
		end := bytes.Index(rest, resumedSuffix)
		if end < len(resumedPrefix) {
			return l
		}
		name := rest[len(resumedPrefix):end]
		if !isIdent(name) {
			return l
		}
		l.Kind, l.Name = LineResumed, name
		l.Result, l.Ret = parseResult(rest[end:])
		return l
	case '+':
		switch {
		case bytes.HasPrefix(rest, exitedPrefix):
			l.Kind = LineExited
		case bytes.HasPrefix(rest, killedPrefix):
			l.Kind = LineKilled
		case bytes.HasPrefix(rest, supersededPrefix):
			l.Kind = LineSuperseded
		}
		return l
	case '-':
		if bytes.HasPrefix(rest, signalPrefix) {
			l.Kind = LineSignal
		}
		return l
	case '>':
		if len(rest) == 1 || rest[1] == ' ' {
			l.Kind = LineStack
		}
		return l
	case '%':
		if bytes.HasPrefix(rest, summaryHeaderPrefix) {
			l.Kind = LineSummaryHeader
		}
		return l
	case ')':
		l.Kind = LineContinuation
		l.Result, l.Ret = parseResult(rest)
		return l
	case 'S':
		if bytes.HasPrefix(rest, summaryModePrefix) {
			l.Kind = LineSummaryMode
			l.Bits = modeBits(rest[len(summaryModePrefix):])
		}
		return l
	case 's':
		if bytes.HasPrefix(rest, stracePrefix) {
			l.Attached = attachedPID(rest)
			if l.Attached == 0 && bytes.HasPrefix(rest, attachedPrefix) {
				if pid, k := atoi(rest, len(attachedPrefix)); k > len(attachedPrefix) &&
					bytes.HasPrefix(rest[k:], detachedSuffix) {
					l.Kind, l.PID = LineDetached, pid
				}
			}
			return l
		}
	}
	// "name(" — a syscall entry.
	j := 0
	for j < len(rest) && isIdentByte(rest[j]) {
		j++
	}
	if j == 0 || j >= len(rest) || rest[j] != '(' || isDigit(rest[0]) {
		return l
	}
	l.Kind, l.Name = LineCall, rest[:j]
	if bytes.HasSuffix(rest, unfinishedSuffix) {
		l.Unfinished = true
		return l
	}
	l.Result, l.Ret = parseResult(rest[j:])
	if l.Result == ResultNone {
		// "vfork(strace: Process 18622 attached": strace's message spliced into the call line.
		l.Attached = attachedPID(rest)
	}
	return l
}

var (
	pidPrefix           = []byte("[pid ")
	personalityPrefix   = []byte("[ Process PID=")
	resumedPrefix       = []byte("<... ")
	resumedSuffix       = []byte(" resumed>")
	exitedPrefix        = []byte("+++ exited with ")
	killedPrefix        = []byte("+++ killed by ")
	supersededPrefix    = []byte("+++ superseded by execve")
	signalPrefix        = []byte("--- ")
	summaryHeaderPrefix = []byte("% time ")
	summaryModePrefix   = []byte("System call usage summary for ")
	stracePrefix        = []byte("strace: ")
	attachedPrefix      = []byte("strace: Process ")
	detachedSuffix      = []byte(" detached")
	attachedSuffix      = []byte(" attached")
	unfinishedSuffix    = []byte("<unfinished ...>")
	resultSep           = []byte(" = ")
)

// parsePersonality reads the rest of "[ Process PID=N runs in 32 bit mode. ]".
func parsePersonality(l Line, rest []byte) Line {
	pid, k := atoi(rest, 0)
	if k == 0 {
		return l
	}
	rest = rest[k:]
	if !bytes.HasPrefix(rest, []byte(" runs in ")) {
		return l
	}
	l.Kind, l.PID = LinePersonality, pid
	l.Bits = modeBits(rest[len(" runs in "):])
	return l
}

// modeBits reads "32 bit mode", "64 bit mode" or "x32 mode".
func modeBits(b []byte) int {
	switch {
	case bytes.HasPrefix(b, []byte("32 bit")):
		return 32
	case bytes.HasPrefix(b, []byte("64 bit")):
		return 64
	}
	return 0
}

// attachedPID finds "strace: Process N attached" in b.
func attachedPID(b []byte) int {
	k := bytes.Index(b, attachedPrefix)
	if k < 0 {
		return 0
	}
	k += len(attachedPrefix)
	pid, end := atoi(b, k)
	if end == k || !bytes.HasPrefix(b[end:], attachedSuffix) {
		return 0
	}
	return pid
}

// parseResult reads the outcome after the last ")<spaces>= " in b (strace pads results to
// column 40). It scans back from the end, where the result is: a '"' met first means the
// " = " is inside a string argument, and the line is split (program output follows the
// arguments; the result comes on a later line).
func parseResult(b []byte) (Result, int64) {
	k := -1 // index of the " = "
	for i := len(b) - 1; i > 0; i-- {
		c := b[i]
		if c == '"' {
			return ResultNone, 0
		}
		if c == '=' && b[i-1] == ' ' && i+1 < len(b) && b[i+1] == ' ' {
			k = i - 1
			break
		}
	}
	if k < 0 {
		return ResultNone, 0
	}
	j := k
	for j > 0 && b[j-1] == ' ' {
		j--
	}
	if j == 0 || b[j-1] != ')' {
		return ResultNone, 0
	}
	v := b[k+len(resultSep):]
	if len(v) == 0 {
		return ResultNone, 0
	}
	switch {
	case v[0] == '?':
		return ResultUnknown, 0
	case v[0] == '-':
		n, end := atoi(v, 1)
		if end == 1 {
			return ResultNone, 0
		}
		// An error shows its errno name or "(errno N)"; other negative values are plain results.
		if end < len(v) && v[end] == ' ' && end+1 < len(v) && (v[end+1] == 'E' || v[end+1] == '(') {
			return ResultError, 0
		}
		return ResultOK, -int64(n)
	case isDigit(v[0]):
		if len(v) > 1 && v[1] == 'x' {
			return ResultOK, 0
		}
		n, _ := atoi(v, 0)
		return ResultOK, int64(n)
	}
	return ResultNone, 0
}

// atoi reads decimal digits from b[i:], returning the value and the index after them. Values
// are capped so that hostile input cannot overflow.
func atoi(b []byte, i int) (int, int) {
	n := 0
	for i < len(b) && isDigit(b[i]) {
		if n < 1<<40 {
			n = n*10 + int(b[i]-'0')
		}
		i++
	}
	return n, i
}

func trimRight(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}

func isDigit(c byte) bool     { return c >= '0' && c <= '9' }
func isHex(c byte) bool       { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') }
func isIdentByte(c byte) bool { return c == '_' || isDigit(c) || (c >= 'a' && c <= 'z') }
func isIdent(b []byte) bool {
	if len(b) == 0 || isDigit(b[0]) {
		return false
	}
	for _, c := range b {
		if !isIdentByte(c) {
			return false
		}
	}
	return true
}
