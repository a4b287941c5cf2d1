package seccomp

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		line string
		want Line // Name compared as a string
		name string
	}{
		{line: `close(3)                                = 0`, name: "close", want: Line{Kind: LineCall, Result: ResultOK}},
		{line: `18568 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD, child_tidptr=0x7f) = 18569`, name: "clone",
			want: Line{Kind: LineCall, PID: 18568, Result: ResultOK, Ret: 18569}},
		{line: `[pid 18622] brk(NULL <unfinished ...>`, name: "brk", want: Line{Kind: LineCall, PID: 18622, Unfinished: true}},
		{line: `[pid  1234] <... brk resumed>)          = 0x57a22000`, name: "brk", want: Line{Kind: LineResumed, PID: 1234, Result: ResultOK}},
		{line: `18568 <... clone resumed>, child_tidptr=0x7f24ea56aa10) = ? ERESTARTNOINTR (To be restarted)`, name: "clone",
			want: Line{Kind: LineResumed, PID: 18568, Result: ResultUnknown}},
		{line: `18588 13:07:26.013030 [  59] execve("/corpus/bin/forker", ["/corpus/bin/"...], 0x7ffcfa903ae8 /* 6 vars */) = 0`,
			name: "execve", want: Line{Kind: LineCall, PID: 18588, Result: ResultOK}},
		{line: `13:07:18 brk(NULL)                      = 0x5578dcdd7000`, name: "brk", want: Line{Kind: LineCall, Result: ResultOK}},
		{line: `1795525638.289301 brk(NULL)             = 0x55ffb8085000`, name: "brk", want: Line{Kind: LineCall, Result: ResultOK}},
		{line: `     0.000346 brk(NULL)                 = 0x55a85a1ca000`, name: "brk", want: Line{Kind: LineCall, Result: ResultOK}},
		{line: `[00007f441b716c47] brk(NULL)            = 0x562a2f573000`, name: "brk", want: Line{Kind: LineCall, Result: ResultOK}},
		{line: `18328 13:07:18.162559 brk(NULL)         = 0x5637d7d47000 <0.000012>`, name: "brk", want: Line{Kind: LineCall, PID: 18328, Result: ResultOK}},
		{line: `access("/etc/ld.so.preload", R_OK)      = -1 ENOENT (No such file or directory)`, name: "access", want: Line{Kind: LineCall, Result: ResultError}},
		{line: `access("/x", 0x4)       = -1 (errno 2)`, name: "access", want: Line{Kind: LineCall, Result: ResultError}},
		{line: `write(1, "a) = 1 \" = (", 12)         = 12`, name: "write", want: Line{Kind: LineCall, Result: ResultOK, Ret: 12}},
		{line: `write(1, "f() = 1\n", 8f`, name: "write", want: Line{Kind: LineCall}},   // split by output
		{line: `write(1, "a = 1\n", 6a = 1`, name: "write", want: Line{Kind: LineCall}}, // split by output
		{line: `exit_group(0)                           = ?`, name: "exit_group", want: Line{Kind: LineCall, Result: ResultUnknown}},
		{line: `restart_syscall(<... resuming interrupted read ...>) = 0`, name: "restart_syscall", want: Line{Kind: LineCall, Result: ResultOK}},
		{line: `vfork(strace: Process 18622 attached`, name: "vfork", want: Line{Kind: LineCall, Attached: 18622}},
		{line: `strace: Process 18393 attached`, want: Line{Attached: 18393}},
		{line: `strace: Process 18393 detached`, want: Line{Kind: LineDetached, PID: 18393}},
		{line: ` <unfinished ...>`, want: Line{Kind: LineContinuation, Unfinished: true}},
		{line: `)                   = 5`, want: Line{Kind: LineContinuation, Result: ResultOK, Ret: 5}},
		{line: `[pid 18622] [ Process PID=18622 runs in 32 bit mode. ]`, want: Line{Kind: LinePersonality, PID: 18622, Bits: 32}},
		{line: `[ Process PID=77 runs in 64 bit mode. ]`, want: Line{Kind: LinePersonality, PID: 77, Bits: 64}},
		{line: `[ Process PID=77 runs in x32 mode. ]`, want: Line{Kind: LinePersonality, PID: 77}},
		{line: `18594 13:07:26.018612 [  60] +++ exited with 0 +++`, want: Line{Kind: LineExited, PID: 18594}},
		{line: `[????????????????] +++ exited with 0 +++`, want: Line{Kind: LineExited}},
		{line: `+++ killed by SIGSEGV (core dumped) +++`, want: Line{Kind: LineKilled}},
		{line: `[pid 9] +++ superseded by execve in pid 8 +++`, want: Line{Kind: LineSuperseded, PID: 9}},
		{line: `18568 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=18569} ---`, want: Line{Kind: LineSignal, PID: 18568}},
		{line: ` > /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2(_dl_catch_error+0x26f0) [0x1ab70]`, want: Line{Kind: LineStack}},
		{line: `% time     seconds  usecs/call     calls    errors syscall`, want: Line{Kind: LineSummaryHeader}},
		{line: `System call usage summary for 32 bit mode:`, want: Line{Kind: LineSummaryMode, Bits: 32}},
		{line: ` 29.73    0.000099          33         3         1 futex`, want: Line{}},
		{line: `VERSION="12 (bookworm)"`, want: Line{}},
		{line: `bin`, want: Line{}},
		{line: ``, want: Line{}},
		{line: "\x00\xff\xfe(", want: Line{}},
		{line: `12345678901 read(0, "", 1) = 0`, want: Line{}}, // too long for a PID
		{line: `Read(0) = 0`, want: Line{}},                    // names are lower case
		{line: `9read(0) = 0`, want: Line{PID: 0}},             // not a name
		{line: `[pid 12 read(0) = 0`, want: Line{}},            // broken prefix
		{line: `read(0, "", 1) = 0` + "\r", name: "read", want: Line{Kind: LineCall, Result: ResultOK}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got := ParseLine([]byte(tt.line))
			if string(got.Name) != tt.name {
				t.Errorf("Name = %q, want %q", got.Name, tt.name)
			}
			got.Name = nil
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("ParseLine() (-want +got):\n%s", d)
			}
		})
	}
}

// FuzzParseLine checks that no input panics and that what ParseLine reports holds: a name is an
// identifier taken from the line, and adding a PID prefix changes only the PID.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		`close(3)                                = 0`,
		`[pid 18622] brk(NULL <unfinished ...>`,
		`18568 <... clone resumed>, child_tidptr=0x7f24ea56aa10) = 18570`,
		`[pid 18622] [ Process PID=18622 runs in 32 bit mode. ]`,
		`vfork(strace: Process 18622 attached`,
		`18588 13:07:26.013030 [  59] execve("/x", ["x"], 0x7ffc /* 6 vars */) = 0 <0.000209>`,
		` 29.73    0.000099          33         3         1 futex`,
		`+++ killed by SIGSEGV (core dumped) +++`,
		`)                   = 5`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l := ParseLine(b)
		if l.Name != nil {
			if !isIdent(l.Name) {
				t.Fatalf("name %q is not an identifier", l.Name)
			}
			if !bytes.Contains(b, l.Name) {
				t.Fatalf("name %q is not in the line", l.Name)
			}
		}
		if (l.Kind == LineCall || l.Kind == LineResumed) != (l.Name != nil) {
			t.Fatalf("kind %v with name %q", l.Kind, l.Name)
		}
		if l.Kind != LineCall || !isIdentByte(b[0]) || isDigit(b[0]) {
			return // the prefix checks below need a line that starts with its name
		}
		prefixed := append([]byte("4242 "), b...)
		p := ParseLine(prefixed)
		if p.Kind != l.Kind || p.PID != 4242 || string(p.Name) != string(l.Name) || p.Result != l.Result {
			t.Fatalf("with a PID prefix: %+v, without: %+v", p, l)
		}
		bracketed := ParseLine(append([]byte("[pid "+strconv.Itoa(7)+"] "), b...))
		if bracketed.PID != 7 || string(bracketed.Name) != string(l.Name) {
			t.Fatalf("with [pid 7]: %+v, without: %+v", bracketed, l)
		}
	})
}
