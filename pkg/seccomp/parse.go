package seccomp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"strings"
)

// Trace is what a set of strace logs shows: the syscalls per ABI, and why the logs look partial.
type Trace struct {
	Syscalls Set
	// Summary holds the names read from -c/-C summary tables. They are part of Syscalls too.
	Summary Set
	// Partial lists the reasons the logs look partial (filtered, failed-only, summary-only).
	// A profile built from a partial trace misses calls the workload makes.
	Partial []Partial
	// Unknown lists "syscall_0x..." names no table resolves; they cannot go into a profile.
	Unknown []string
	Stats   Stats
}

// Stats counts what the parser read.
type Stats struct {
	Files     int
	Bytes     int64
	Lines     int64
	CallLines int64 // syscall entry lines (complete or unfinished) with a known name
}

// Partial is one reason a log looks partial.
type Partial struct {
	Log    string // the LOG argument
	Reason string
}

func (p Partial) String() string { return p.Log + ": " + p.Reason }

// PartialError refuses a partial trace. Pass WithAllowPartial to Generate, or check
// Trace.Partial yourself, to accept one.
type PartialError struct{ Reasons []Partial }

func (e *PartialError) Error() string {
	parts := make([]string, len(e.Reasons))
	for i, r := range e.Reasons {
		parts[i] = r.String()
	}
	return "partial strace log, a profile from it would miss calls: " + strings.Join(parts, "; ") +
		" (use --allow-partial to accept it)"
}

// ErrNotStrace is wrapped by the error for input that is empty, binary or not strace output.
var ErrNotStrace = errors.New("not strace output")

// NotStraceError names the log that is not strace output.
type NotStraceError struct {
	Log    string
	Reason string
}

func (e *NotStraceError) Error() string { return fmt.Sprintf("%s: %s", e.Log, e.Reason) }
func (e *NotStraceError) Unwrap() error { return ErrNotStrace }

// Complete returns a *PartialError when the trace looks partial, else nil.
func (t *Trace) Complete() error {
	if len(t.Partial) == 0 {
		return nil
	}
	return &PartialError{Reasons: t.Partial}
}

// Log is one LOG argument: a file, a directory or a -ff prefix, read as one group. Partial-log
// checks run per Log.
type Log struct {
	Name  string
	Files []LogFile
}

// LogFile is one stream of strace output.
type LogFile struct {
	Name string
	PID  int // the PID from a -ff file name (PREFIX.PID); 0 when the lines carry PIDs or none
	Open func() (io.ReadCloser, error)
}

// ParseOption configures Parse.
type ParseOption func(*parseConfig)

type parseConfig struct {
	log *slog.Logger
}

// WithParseLogger sets where warnings go (unknown syscall numbers, x32 processes).
// Default: discarded.
func WithParseLogger(l *slog.Logger) ParseOption { return func(c *parseConfig) { c.log = l } }

// Parse reads the logs, streaming each file once, and returns the syscalls they show. It
// returns a *NotStraceError for a log that holds no strace output; partial logs are not an
// error here (see Trace.Complete).
func Parse(ctx context.Context, logs []Log, opts ...ParseOption) (*Trace, error) {
	cfg := parseConfig{log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&cfg)
	}
	if len(logs) == 0 {
		return nil, errors.New("no strace log given")
	}
	c := newCollector(cfg.log)
	for _, lg := range logs {
		c.g = groupFacts{}
		for _, f := range lg.Files {
			if err := c.readFile(ctx, f); err != nil {
				return nil, err
			}
		}
		if err := c.finishGroup(lg.Name); err != nil {
			return nil, err
		}
	}
	tr := &Trace{Syscalls: c.set, Summary: c.summarySet, Partial: c.partial, Stats: c.stats}
	for n := range c.unknown {
		tr.Unknown = append(tr.Unknown, n)
	}
	sort.Strings(tr.Unknown)
	return tr, nil
}

// ParseReader parses one stream as a Log named name.
func ParseReader(ctx context.Context, name string, r io.Reader, opts ...ParseOption) (*Trace, error) {
	return Parse(ctx, []Log{{Name: name, Files: []LogFile{{Name: name, Open: func() (io.ReadCloser, error) {
		return io.NopCloser(r), nil
	}}}}}, opts...)
}

// Per-number properties of syscalls the parser reacts to.
const (
	flagExec = 1 << iota
	flagFork
	flagExit
	flagMem
)

var callFlags = func() (f [numABIs][maxNr]uint8) {
	set := func(flag uint8, names ...string) {
		for _, a := range ABIs {
			for _, n := range names {
				if nr, ok := Number(a, n); ok {
					f[a][nr] |= flag
				}
			}
		}
	}
	set(flagExec, "execve", "execveat")
	set(flagFork, "clone", "clone3", "fork", "vfork")
	set(flagExit, "exit", "exit_group")
	set(flagMem, "brk", "mmap", "mmap2", "arch_prctl", "set_thread_area")
	return f
}()

// proc is what the parser knows about one traced process (or thread).
type proc struct {
	abi     ABI
	certain bool            // abi is proven by a personality line or an ABI-only name
	seg     [numABIs]bitset // calls seen while the ABI is unproven, by number in each table
	pending bool            // an unfinished call waits for its "resumed" line
	pendNr  [numABIs]int    // that call, by number in each table (-1: no such name)
	forking bool            // the pending call is clone/fork/vfork/clone3
	execed  bool            // ran execve: no longer the image of the process that forked it
	exited  bool            // "+++ exited/killed" seen
	pids    []int           // the map keys this proc is stored under
}

// decide proves the ABI and moves the pending segment into the result.
func (c *collector) decide(p *proc, a ABI) {
	if !p.certain || p.abi != a {
		p.abi, p.certain = a, true
	}
	c.flushSeg(p)
}

// flushSeg moves the calls seen under an unproven ABI into the result, under the assumed ABI.
func (c *collector) flushSeg(p *proc) {
	c.set.abi[p.abi].union(&p.seg[p.abi])
	p.seg = [numABIs]bitset{}
}

// groupFacts are the facts partial-log detection uses, per Log.
type groupFacts struct {
	lines       int64
	confirmed   int64 // lines only strace writes: "= result", "<unfinished ...>", "<... resumed>"
	calls       int64
	ok, failed  int64
	exec        bool
	execOK      bool
	exitCall    bool
	killed      bool
	exitedLine  bool
	mem         bool
	summaryRows int
	recognised  bool
}

type collector struct {
	log        *slog.Logger
	set        Set
	summarySet Set
	partial    []Partial
	unknown    map[string]bool
	stats      Stats
	g          groupFacts

	// per file
	procs      map[int]*proc
	p0         *proc // the process whose lines carry no PID (stderr logs, -ff files, no -f)
	p0Aliased  bool  // p0 has shown up under its PID once other processes appeared
	prefixed   bool  // some line carried a PID
	live       int   // prefixed processes not yet exited
	lastForker *proc
	free       []*proc      // exited procs to reuse
	announced  map[int]bool // "strace: Process N attached" seen, N not yet met
	filePID    int

	inSummary  bool
	summaryABI ABI

	tentative   bool // a call line split by program output, waiting for its ") = N"
	tentLine    Line
	tentName    [64]byte
	tentNameLen int
}

func newCollector(log *slog.Logger) *collector {
	return &collector{log: log, unknown: map[string]bool{}}
}

const (
	readBufSize = 256 << 10
	longLineCap = 4 << 10 // bytes kept from each end of a line longer than readBufSize
	// A stream whose first maxJunkBytes hold no strace line is refused without reading on.
	maxJunkBytes = 4 << 20
)

func (c *collector) readFile(ctx context.Context, f LogFile) error {
	rc, err := f.Open()
	if err != nil {
		return fmt.Errorf("log %s: %w", f.Name, err)
	}
	defer rc.Close()
	c.stats.Files++
	c.procs = map[int]*proc{}
	c.p0, c.p0Aliased, c.prefixed, c.live, c.lastForker = nil, false, false, 0, nil
	c.announced = map[int]bool{}
	c.filePID = f.PID
	c.inSummary, c.summaryABI = false, X8664
	c.tentative = false

	br := bufio.NewReaderSize(rc, readBufSize)
	var long, tail []byte // a line longer than the buffer: its head, and its last bytes so far
	var n int64
	for {
		line, err := br.ReadSlice('\n')
		n += int64(len(line))
		if errors.Is(err, bufio.ErrBufferFull) {
			// Keep the head (the name) and a rolling tail (the result may straddle chunks).
			if long == nil {
				long = append(make([]byte, 0, 2*longLineCap+8), line[:longLineCap]...)
				long = append(long, " ... "...)
			}
			tail = lastBytes(append(tail, lastBytes(line, longLineCap)...), longLineCap)
			continue
		}
		if long != nil {
			line = append(long, lastBytes(append(tail, line...), longLineCap)...)
			long, tail = nil, tail[:0]
		}
		if len(line) > 0 {
			c.g.lines++
			c.stats.Lines++
			c.line(line)
			if c.stats.Lines&0xffff == 0 {
				if cerr := ctx.Err(); cerr != nil {
					return cerr
				}
			}
			if !c.g.recognised && n > maxJunkBytes {
				return &NotStraceError{Log: f.Name, Reason: fmt.Sprintf("no strace line in the first %d MiB", maxJunkBytes>>20)}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", f.Name, err)
		}
	}
	c.stats.Bytes += n
	c.endFile()
	return nil
}

// lastBytes returns the last n bytes of b (all of b when shorter), copied to the front of b.
func lastBytes(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	return append(b[:0], b[len(b)-n:]...)
}

// line handles one line of a stream.
func (c *collector) line(b []byte) {
	l := ParseLine(b)
	if c.tentative {
		// A call line is open: strace ends it (") = N", or "<unfinished ...>" when another
		// process has something to say) before it writes any other line, so what comes up to
		// that end is the program's own output, however much it looks like strace.
		if l.Kind == LineContinuation {
			t := c.tentLine
			t.Name = c.tentName[:c.tentNameLen]
			t.Result, t.Ret, t.Unfinished = l.Result, l.Ret, l.Unfinished
			c.tentative = false
			c.call(t)
			return
		}
		if l.Attached != 0 {
			c.announced[l.Attached] = true
		}
		if !straceOnly(l) {
			return
		}
		// A line only strace writes: the open line was a call whose end strace never wrote
		// (it was killed, or the result held a quote). Count the call and go on.
		c.commitTentative()
	}
	if l.Attached != 0 {
		c.announced[l.Attached] = true
	}
	switch l.Kind {
	case LineCall:
		if !l.Unfinished && l.Result == ResultNone {
			if !c.known(l.Name) || len(l.Name) > len(c.tentName) {
				return
			}
			c.tentative = true
			c.tentLine = l
			c.tentNameLen = copy(c.tentName[:], l.Name)
			return
		}
		c.call(l)
	case LineResumed:
		c.resumed(l)
	case LineExited, LineKilled, LineSuperseded:
		c.g.recognised = true
		c.g.confirmed++
		switch l.Kind {
		case LineExited:
			c.g.exitedLine = true
		case LineKilled:
			c.g.killed = true
		}
		c.exit(c.procFor(l.PID, l))
	case LineSignal:
		c.g.recognised = true
	case LinePersonality:
		c.g.recognised = true
		c.g.confirmed++
		p := c.personalityProc(l.PID)
		switch l.Bits {
		case 32:
			c.decide(p, I386)
		case 64:
			c.decide(p, X8664)
		default:
			c.log.Warn("x32 process: its calls are read as x86_64", "pid", l.PID)
		}
	case LineSummaryHeader:
		c.g.recognised = true
		c.inSummary = true
	case LineSummaryMode:
		c.g.recognised = true
		c.summaryABI = X8664
		if l.Bits == 32 {
			c.summaryABI = I386
		}
	case LineOther, LineStack:
		if c.inSummary {
			c.summaryRow(b)
		}
	}
}

// straceOnly reports whether a line is one programs do not print by accident.
func straceOnly(l Line) bool {
	switch l.Kind {
	case LineResumed, LineExited, LineKilled, LineSuperseded, LineSignal, LinePersonality:
		return true
	case LineCall:
		return l.PID != 0 && l.Result != ResultNone
	}
	return false
}

// commitTentative counts the open call line without a result.
func (c *collector) commitTentative() {
	t := c.tentLine
	t.Name = c.tentName[:c.tentNameLen]
	c.tentative = false
	c.call(t)
}

func (c *collector) known(name []byte) bool {
	if _, ok := numberBytes(X8664, name); ok {
		return true
	}
	if _, ok := numberBytes(I386, name); ok {
		return true
	}
	return bytes.HasPrefix(name, []byte("syscall_0x"))
}

// summaryRow reads one row of a -c/-C table: numbers, then the name; "total" ends the table.
func (c *collector) summaryRow(b []byte) {
	b = trimRight(b)
	for i := 0; i < len(b); {
		for i < len(b) && b[i] == ' ' {
			i++
		}
		j := i
		for j < len(b) && b[j] != ' ' {
			j++
		}
		f := b[i:j]
		i = j
		if len(f) == 0 {
			return
		}
		if f[0] == '-' {
			return // the "------ -----" rule
		}
		if !isIdent(f) {
			continue
		}
		if string(f) == "total" {
			c.inSummary, c.summaryABI = false, X8664
			return
		}
		if nr, ok := numberBytes(c.summaryABI, f); ok {
			c.summarySet.abi[c.summaryABI].add(nr)
			c.set.abi[c.summaryABI].add(nr)
			c.g.summaryRows++
		} else if c.summaryABI == X8664 {
			if nr, ok := numberBytes(I386, f); ok {
				c.summarySet.abi[I386].add(nr)
				c.set.abi[I386].add(nr)
				c.g.summaryRows++
			}
		}
		return
	}
}

// procFor finds the process a line belongs to.
func (c *collector) procFor(pid int, l Line) *proc {
	if pid == 0 {
		if c.prefixed && c.live == 1 {
			for _, p := range c.procs {
				if !p.exited {
					return p
				}
			}
		}
		if c.p0 == nil {
			c.p0 = c.newProcState(X8664, false)
		}
		return c.p0
	}
	c.prefixed = true
	if p := c.procs[pid]; p != nil {
		return p
	}
	p := c.newProc(pid, l)
	c.store(pid, p)
	delete(c.announced, pid)
	return p
}

// newProc decides what a PID seen for the first time is: the unprefixed process that now shows
// its PID because a second process appeared, or a new child.
func (c *collector) newProc(pid int, l Line) *proc {
	if p0 := c.p0; p0 != nil && !c.p0Aliased && !p0.exited {
		alias := false
		switch {
		case l.Kind == LineResumed && p0.pending:
			alias = c.samePending(p0, l.Name)
		case c.announced[pid]:
		case !p0.forking:
			alias = true
		}
		if alias {
			c.p0Aliased = true
			return p0
		}
	}
	if f := c.lastForker; f != nil {
		return c.newProcState(f.abi, f.certain)
	}
	return c.newProcState(X8664, false)
}

// personalityProc finds the process of "[ Process PID=N runs in ... mode. ]".
func (c *collector) personalityProc(pid int) *proc {
	if p := c.procs[pid]; p != nil {
		return p
	}
	if !c.prefixed || pid == c.filePID {
		return c.procFor(0, Line{})
	}
	return c.procFor(pid, Line{})
}

func (c *collector) samePending(p *proc, name []byte) bool {
	for _, a := range ABIs {
		if nr, ok := numberBytes(a, name); ok && p.pendNr[a] == nr {
			return true
		}
	}
	return bytes.HasPrefix(name, []byte("syscall_0x"))
}

// call handles a syscall entry line.
func (c *collector) call(l Line) {
	p := c.procFor(l.PID, l)
	nr64, ok64, nr32, ok32 := c.resolve(p, l.Name)
	if !ok64 && !ok32 {
		return
	}
	c.g.recognised = true
	if l.Result != ResultNone || l.Unfinished {
		c.g.confirmed++
	}
	c.g.calls++
	c.stats.CallLines++
	c.tally(l.Result)
	a := c.add(p, nr64, ok64, nr32, ok32)
	flags := c.flags(a, nr64, nr32)
	if l.Unfinished {
		p.pending = true
		p.pendNr = [numABIs]int{nr64, nr32}
		p.forking = flags&flagFork != 0
		if p.forking {
			c.lastForker = p
		}
	}
	c.effects(p, flags, l)
}

// resolve finds a call name in the tables; a number is -1 when its table has no such name.
// "syscall_0x1c8" (a number strace has no name for) resolves in the process's ABI if the
// table knows it, and is recorded as unknown otherwise.
func (c *collector) resolve(p *proc, name []byte) (nr64 int, ok64 bool, nr32 int, ok32 bool) {
	nr64, ok64 = numberBytes(X8664, name)
	nr32, ok32 = numberBytes(I386, name)
	if !ok64 {
		nr64 = -1
	}
	if !ok32 {
		nr32 = -1
	}
	if ok64 || ok32 || !bytes.HasPrefix(name, []byte("syscall_0x")) {
		return
	}
	nr, err := strconv.ParseInt(string(name[len("syscall_0x"):]), 16, 32)
	if err == nil {
		if _, ok := Name(p.abi, int(nr)); ok {
			if p.abi == X8664 {
				return int(nr), true, -1, false
			}
			return -1, false, int(nr), true
		}
	}
	if !c.unknown[string(name)] {
		c.unknown[string(name)] = true
		c.log.Warn("syscall number unknown to the tables, left out of the profile", "name", string(name))
	}
	return
}

func (c *collector) flags(a ABI, nr64, nr32 int) uint8 {
	nr := nr64
	if a == I386 {
		nr = nr32
	}
	if nr < 0 {
		return 0
	}
	return callFlags[a][nr]
}

// resumed handles "<... name resumed>".
func (c *collector) resumed(l Line) {
	if !c.known(l.Name) {
		return
	}
	c.g.recognised = true
	c.g.confirmed++
	p := c.procFor(l.PID, l)
	c.tally(l.Result)
	if p.pending && c.samePending(p, l.Name) {
		p.pending = false
		flags := c.flags(p.abi, p.pendNr[X8664], p.pendNr[I386])
		if flags&flagFork != 0 {
			p.forking = false
			c.forked(p, l)
		}
		if flags&flagExec != 0 && l.Result == ResultOK {
			c.g.execOK = true
		}
		return
	}
	// The entry was not logged (strace attached mid-call): count the call here.
	nr64, ok64, nr32, ok32 := c.resolve(p, l.Name)
	if !ok64 && !ok32 {
		return
	}
	c.g.calls++
	c.stats.CallLines++
	a := c.add(p, nr64, ok64, nr32, ok32)
	c.effects(p, c.flags(a, nr64, nr32), l)
}

func (c *collector) tally(r Result) {
	switch r {
	case ResultOK:
		c.g.ok++
	case ResultError:
		c.g.failed++
	}
}

// add records a call of p and returns the ABI it was counted under.
func (c *collector) add(p *proc, nr64 int, ok64 bool, nr32 int, ok32 bool) ABI {
	switch {
	case ok64 && !ok32:
		if !p.certain || p.abi != X8664 {
			c.decide(p, X8664)
		}
	case ok32 && !ok64:
		if !p.certain || p.abi != I386 {
			c.decide(p, I386)
		}
	case !p.certain:
		p.seg[X8664].add(nr64)
		p.seg[I386].add(nr32)
		return p.abi
	}
	if p.abi == X8664 {
		c.set.abi[X8664].add(nr64)
	} else {
		c.set.abi[I386].add(nr32)
	}
	return p.abi
}

// effects applies what exec, fork and exit calls mean for the process and the group facts.
func (c *collector) effects(p *proc, flags uint8, l Line) {
	if flags == 0 {
		return
	}
	if flags&flagMem != 0 {
		c.g.mem = true
	}
	if flags&flagExit != 0 {
		c.g.exitCall = true
	}
	if flags&flagExec != 0 {
		c.g.exec = true
		if l.Result == ResultOK {
			c.g.execOK = true
		}
		// A new image starts: its ABI is unproven until a personality line or an ABI-only
		// name; until then its calls are assumed to keep the old ABI.
		if !p.certain {
			c.flushSeg(p)
		}
		p.certain, p.execed = false, true
	}
	if flags&flagFork != 0 && !l.Unfinished {
		c.forked(p, l)
	}
}

// forked gives a child created by p's clone/fork/vfork p's ABI, unless it exec'd already.
func (c *collector) forked(p *proc, l Line) {
	if l.Result != ResultOK || l.Ret <= 0 || l.Ret > 1<<31 {
		return
	}
	pid := int(l.Ret)
	ch := c.procs[pid]
	if ch == nil {
		c.store(pid, c.newProcState(p.abi, p.certain))
		return
	}
	if !ch.execed && p.certain && (!ch.certain || ch.abi != p.abi) {
		c.decide(ch, p.abi)
	}
}

// store files p under pid.
func (c *collector) store(pid int, p *proc) {
	c.procs[pid] = p
	p.pids = append(p.pids, pid)
	if len(p.pids) == 1 {
		c.live++
	}
}

// exit ends a process: its unproven calls go in under the assumed ABI.
func (c *collector) exit(p *proc) {
	c.flushSeg(p)
	if p.exited {
		return
	}
	p.exited = true
	for _, pid := range p.pids {
		delete(c.procs, pid)
	}
	if len(p.pids) > 0 {
		c.live--
	}
	if c.lastForker == p {
		c.lastForker = nil
	}
	if c.p0 == p {
		c.p0, c.p0Aliased = nil, false
	}
	// Nothing refers to p any more: reuse it, so memory stays flat however many processes
	// the log holds.
	c.free = append(c.free, p)
}

// newProcState returns a zeroed proc, reusing an exited one when there is one.
func (c *collector) newProcState(abi ABI, certain bool) *proc {
	var p *proc
	if n := len(c.free); n > 0 {
		p = c.free[n-1]
		c.free = c.free[:n-1]
		pids := p.pids[:0]
		*p = proc{pids: pids}
	} else {
		p = &proc{}
	}
	p.abi, p.certain = abi, certain
	return p
}

func (c *collector) endFile() {
	if c.tentative {
		c.commitTentative() // the log ends inside a call line: the call was made
	}
	for _, p := range c.procs {
		c.flushSeg(p)
	}
	if c.p0 != nil {
		c.flushSeg(c.p0)
	}
	c.procs, c.p0, c.announced = nil, nil, nil
}

// finishGroup turns the group's facts into an error (not strace) or partial reasons.
func (c *collector) finishGroup(name string) error {
	g := c.g
	if (g.confirmed == 0 || g.calls == 0) && g.summaryRows == 0 {
		reason := "no strace syscall line found"
		if g.lines == 0 {
			reason = "empty log"
		}
		return &NotStraceError{Log: name, Reason: reason}
	}
	add := func(r string) { c.partial = append(c.partial, Partial{Log: name, Reason: r}) }
	if g.calls == 0 {
		add("only a -c summary table, which leaves out calls that never return (exit_group, exit, pause); trace without -c, or with -C")
		return nil
	}
	switch {
	case !g.exec && !g.exitCall:
		add("neither execve nor exit/exit_group is logged: a -e trace= filter, or strace attached and detached mid-run")
	case g.exitedLine && !g.exitCall:
		add("processes exited but no exit/exit_group call is logged: a -e trace= filter")
	case g.exec && !g.exitCall && !g.killed:
		add("execve is logged but no exit, exit_group or killed-by line: a -e trace= filter, or the log was cut short")
	case g.execOK && !g.mem:
		add("a program started but none of brk, mmap, mmap2, arch_prctl, set_thread_area is logged: a -e trace= filter")
	}
	if g.failed > 0 && g.ok == 0 {
		add("every logged call failed: a failed-only log (-Z/--failed-only)")
	}
	return nil
}
