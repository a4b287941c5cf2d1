package seccomp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const corpusDir = "../../testdata/strace"

type truth struct {
	S64 []string `json:"64"`
	S32 []string `json:"32"`
}

// partialCorpus lists the corpus logs that are partial by design, with a word the refusal names.
var partialCorpus = map[string]string{
	"curl-trace-net-seccomp-bpf": "-e trace=",
	"summary-c-f-forker":         "-c summary",
}

// corpusLog opens a corpus folder's trace: trace.log, or the trace.log.PID files of -ff.
func corpusLog(t testing.TB, dir string) Log {
	t.Helper()
	p := filepath.Join(dir, "trace.log")
	lg, err := ExpandLog(p)
	if err != nil {
		t.Fatal(err)
	}
	return lg
}

func readTruth(t testing.TB, dir string) truth {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tr truth
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatal(err)
	}
	return tr
}

func corpusDirs(t testing.TB) []string {
	t.Helper()
	ents, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	if len(out) < 25 {
		t.Fatalf("corpus has %d logs, want the 25 of ../shared/strace-corpus", len(out))
	}
	return out
}

// TestParseCorpusTruth checks the parser against the kernel's own record (ftrace) of every run
// in the corpus: exact equality per ABI for every full log; partial logs must be flagged.
func TestParseCorpusTruth(t *testing.T) {
	for _, name := range corpusDirs(t) {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(corpusDir, name)
			want := readTruth(t, dir)
			tr, err := Parse(context.Background(), []Log{corpusLog(t, dir)})
			if err != nil {
				t.Fatal(err)
			}
			got64, got32 := tr.Syscalls.Names(X8664), tr.Syscalls.Names(I386)
			if word, partial := partialCorpus[name]; partial {
				err := tr.Complete()
				var pe *PartialError
				if !errors.As(err, &pe) || !strings.Contains(err.Error(), word) {
					t.Fatalf("Complete() = %v, want a *PartialError naming %q", err, word)
				}
				// What a partial log shows must still be true.
				for _, n := range got64 {
					if !contains(want.S64, n) {
						t.Errorf("partial log: %s is not in truth.json", n)
					}
				}
				return
			}
			if err := tr.Complete(); err != nil {
				t.Fatalf("full log refused: %v", err)
			}
			if d := cmp.Diff(want.S64, got64, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("x86_64 syscalls differ from truth.json (-truth +parsed):\n%s", d)
			}
			if d := cmp.Diff(want.S32, got32, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("i386 syscalls differ from truth.json (-truth +parsed):\n%s", d)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestParseI386WithoutPersonalityLine drops the "[ Process PID=N runs in 32 bit mode. ]" line
// (strace -q hides it): i386 calls must still be told apart by i386-only names.
func TestParseI386WithoutPersonalityLine(t *testing.T) {
	dir := filepath.Join(corpusDir, "hello32-via-sh-f-stderr")
	want := readTruth(t, dir)
	raw, err := os.ReadFile(filepath.Join(dir, "trace.log"))
	if err != nil {
		t.Fatal(err)
	}
	var kept [][]byte
	dropped := 0
	for _, l := range bytes.SplitAfter(raw, []byte("\n")) {
		if bytes.Contains(l, []byte("[ Process PID=")) {
			dropped++
			continue
		}
		kept = append(kept, l)
	}
	if dropped != 1 {
		t.Fatalf("dropped %d personality lines, want 1", dropped)
	}
	tr, err := ParseReader(context.Background(), "hello32", bytes.NewReader(bytes.Join(kept, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want.S32, tr.Syscalls.Names(I386)); d != "" {
		t.Errorf("i386 (-truth +parsed):\n%s", d)
	}
	if d := cmp.Diff(want.S64, tr.Syscalls.Names(X8664)); d != "" {
		t.Errorf("x86_64 (-truth +parsed):\n%s", d)
	}
}

// corpusLines returns the lines of a corpus log.
func corpusLines(t testing.TB, name string) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(corpusDir, name, "trace.log"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.SplitAfter(string(raw), "\n")
}

func keep(lines []string, f func(string) bool) string {
	var b strings.Builder
	for _, l := range lines {
		if f(l) {
			b.WriteString(l)
		}
	}
	return b.String()
}

func TestParseRefusesNonStrace(t *testing.T) {
	garbage := make([]byte, 1<<16)
	x := uint32(2463534242)
	for i := range garbage { // xorshift: fixed binary noise
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		garbage[i] = byte(x)
	}
	tests := []struct {
		name, input, want string
	}{
		{"empty", "", "empty log"},
		{"blank lines", "\n\n  \n", "no strace syscall line"},
		{"binary", string(garbage), "no strace syscall line"},
		{"C source", "int main(void) {\n\tclose(fd);\n\tread(0, buf, 1);\n\treturn 0;\n}\n", "no strace syscall line"},
		{"json profile", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"]}]}`, "no strace syscall line"},
		{"program output only", "total 8\ndrwxr-xr-x 2 root root 4096 .\n", "no strace syscall line"},
		{"unknown names only", "frobnicate(1) = 0\nwibble(2) = 3\n", "no strace syscall line"},
		{"exit lines only", "+++ exited with 0 +++\n--- SIGCHLD {} ---\n", "no strace syscall line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := ParseReader(context.Background(), "in.log", strings.NewReader(tt.input))
			var ne *NotStraceError
			if !errors.As(err, &ne) || !errors.Is(err, ErrNotStrace) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse() = %v, %v; want a NotStraceError containing %q", tr, err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestParseRefusesHugeJunkEarly(t *testing.T) {
	junk := strings.Repeat("this is not strace output at all\n", (maxJunkBytes/33)+1000)
	_, err := ParseReader(context.Background(), "junk", strings.NewReader(junk))
	if !errors.Is(err, ErrNotStrace) || !strings.Contains(err.Error(), "first 4 MiB") {
		t.Fatalf("err = %v", err)
	}
}

func TestParsePartial(t *testing.T) {
	ls := corpusLines(t, "ls-plain")
	curl := corpusLines(t, "curl-f-yy")
	tests := []struct {
		name, input, want string // want "" = complete
	}{
		{"full log", strings.Join(ls, ""), ""},
		{"failed only (-Z)", keep(ls, func(l string) bool { return strings.Contains(l, "= -1 E") }), "-Z"},
		{"trace=%file with exit lines", keep(ls, func(l string) bool {
			return strings.HasPrefix(l, "openat(") || strings.HasPrefix(l, "newfstatat(") || strings.HasPrefix(l, "+++")
		}), "exit/exit_group is logged"},
		{"trace=%file -qq", keep(ls, func(l string) bool {
			return strings.HasPrefix(l, "execve(") || strings.HasPrefix(l, "openat(")
		}), "execve is logged but no exit"},
		{"trace=%process", keep(ls, func(l string) bool {
			return strings.HasPrefix(l, "execve(") || strings.HasPrefix(l, "exit_group(") || strings.HasPrefix(l, "+++")
		}), "brk, mmap"},
		{"trace=%network -qq", keep(curl, func(l string) bool { return strings.Contains(l, " socket(") || strings.Contains(l, " connect(") }), "neither execve nor exit"},
		{"summary only (-c)", strings.Join(corpusLines(t, "summary-c-f-forker"), ""), "-c summary"},
		{"attached mid-run, ran to exit", strings.Join(corpusLines(t, "attach-p-sleep"), ""), ""},
		{"killed by a signal", strings.Join(corpusLines(t, "sigsegv"), ""), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := ParseReader(context.Background(), "in.log", strings.NewReader(tt.input))
			if err != nil {
				t.Fatal(err)
			}
			err = tr.Complete()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Complete() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "--allow-partial") {
				t.Fatalf("Complete() = %v, want an error naming %q and --allow-partial", err, tt.want)
			}
		})
	}
}

func TestParseProgramOutput(t *testing.T) {
	// Program output spliced into a write (2>&1) that itself looks like strace lines must not
	// count; the write does.
	in := "execve(\"/bin/p\", [\"p\"], 0x7ffc /* 1 var */) = 0\n" +
		"brk(NULL)                               = 0x55\n" +
		"write(1, \"a\\nunlink(\\\"x\\\") = 0\\nrmdir(1\\n\", 24a\n" +
		"unlink(\"x\") = 0\n" +
		"rmdir(1\n" +
		")                   = 24\n" +
		"exit_group(0)                           = ?\n" +
		"+++ exited with 0 +++\n"
	tr, err := ParseReader(context.Background(), "out.log", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"brk", "execve", "exit_group", "write"}, tr.Syscalls.Names(X8664)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestParseLongLine(t *testing.T) {
	long := strings.Repeat("x", 3*readBufSize)
	in := "execve(\"/bin/p\", [\"p\"], 0x7ffc /* 1 var */) = 0\n" +
		"brk(NULL) = 0x55\n" +
		"write(1, \"" + long + "\", 786432) = 786432\n" +
		"exit_group(0) = ?\n"
	tr, err := ParseReader(context.Background(), "long.log", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"brk", "execve", "exit_group", "write"}, tr.Syscalls.Names(X8664)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if err := tr.Complete(); err != nil {
		t.Error(err)
	}
}

// TestParseLongLineResultAcrossChunks puts the boundary of the read buffer inside ") = 5".
func TestParseLongLineResultAcrossChunks(t *testing.T) {
	for _, cut := range []int{1, 2, 3, 4, 5} { // bytes of the line after the boundary
		head, end := `write(1, "`, `", 5) = 5`
		pad := readBufSize - len(head) - len(end) + cut
		line := head + strings.Repeat("y", pad) + end // the newline is byte readBufSize+cut+1
		in := "execve(\"/bin/p\", [\"p\"], 0x7ffc /* 1 var */) = 0\n" + "brk(NULL) = 0x55\n" + line + "\n" +
			"close(1) = 0\nexit_group(0) = ?\n"
		// The first line must end where the buffer holds it all, so put the long line first.
		in = line + "\n" + in
		tr, err := ParseReader(context.Background(), "long.log", strings.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]string{"brk", "close", "execve", "exit_group", "write"}, tr.Syscalls.Names(X8664)); d != "" {
			t.Errorf("cut %d (-want +got):\n%s", cut, d)
		}
	}
}

func TestParseUnknownNumber(t *testing.T) {
	in := "execve(\"/bin/p\", [\"p\"], 0x7ffc /* 1 var */) = 0\n" +
		"brk(NULL) = 0x55\n" +
		"syscall_0x27(0, 0) = 42\n" + // 39 = getpid on x86_64
		"syscall_0x3e7(0, 0) = -1 ENOSYS (Function not implemented)\n" + // 999: no such call
		"exit_group(0) = ?\n"
	tr, err := ParseReader(context.Background(), "n.log", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"brk", "execve", "exit_group", "getpid"}, tr.Syscalls.Names(X8664)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"syscall_0x3e7"}, tr.Unknown); d != "" {
		t.Errorf("Unknown (-want +got):\n%s", d)
	}
}

func TestExpandLog(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("run.12", "x")
	write("run.7", "x")
	write("run.7.bak", "x")
	write("run.x7", "x")
	write("other.log", "x")
	write("profile.json", "x")
	tests := []struct {
		arg       string
		wantFiles []string
		wantPIDs  []int
		wantErr   string
	}{
		{arg: filepath.Join(dir, "other.log"), wantFiles: []string{"other.log"}, wantPIDs: []int{0}},
		{arg: filepath.Join(dir, "run"), wantFiles: []string{"run.7", "run.12"}, wantPIDs: []int{7, 12}},
		{arg: dir, wantFiles: []string{"other.log", "run.12", "run.7"}, wantPIDs: []int{0, 12, 7}},
		{arg: filepath.Join(dir, "nope"), wantErr: "no such file, directory or -ff prefix"},
		{arg: filepath.Join(dir, "ru"), wantErr: "no such file"},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.arg), func(t *testing.T) {
			lg, err := ExpandLog(tt.arg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var files []string
			var pids []int
			for _, f := range lg.Files {
				files = append(files, filepath.Base(f.Name))
				pids = append(pids, f.PID)
			}
			if d := cmp.Diff(tt.wantFiles, files); d != "" {
				t.Errorf("files (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.wantPIDs, pids); d != "" {
				t.Errorf("pids (-want +got):\n%s", d)
			}
		})
	}
	empty := t.TempDir()
	if _, err := ExpandLog(empty); err == nil || !strings.Contains(err.Error(), "holds no") {
		t.Errorf("empty dir: err = %v", err)
	}
}
