package seccomp

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestGenerateGolden: testdata/strace/<name>/trace.log → testdata/strace/<name>.profile.json.
func TestGenerateGolden(t *testing.T) {
	for _, name := range corpusDirs(t) {
		if _, partial := partialCorpus[name]; partial {
			continue
		}
		t.Run(name, func(t *testing.T) {
			tr, err := Parse(context.Background(), []Log{corpusLog(t, filepath.Join(corpusDir, name))})
			if err != nil {
				t.Fatal(err)
			}
			p, err := Generate(tr)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := p.WriteJSON(&got); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join(corpusDir, name+".profile.json")
			if *update {
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./pkg/seccomp -run TestGenerateGolden -update)", err)
			}
			if d := cmp.Diff(string(want), got.String()); d != "" {
				t.Errorf("profile differs from %s (-want +got):\n%s", golden, d)
			}
			// The golden must read back as a valid profile.
			if _, err := ReadProfile(bytes.NewReader(want)); err != nil {
				t.Error(err)
			}
		})
	}
}

func traceOf(t *testing.T, abi ABI, names ...string) *Trace {
	t.Helper()
	tr := &Trace{}
	for _, n := range names {
		if !tr.Syscalls.Add(abi, n) {
			t.Fatalf("bad name %s", n)
		}
	}
	return tr
}

func ruleNames(p *Profile, action string) []string {
	var out []string
	for _, r := range p.Syscalls {
		if r.Action == action {
			out = append(out, r.Names...)
		}
	}
	return sortedUnique(out)
}

func TestGenerate(t *testing.T) {
	runcNNP, _ := RuntimeSyscalls("runc", true)
	tests := []struct {
		name      string
		trace     func(t *testing.T) *Trace
		opts      []GenerateOption
		wantErr   string
		wantAllow []string // nil: not checked
		wantDeny  []string // explicit non-allow rules
		wantArch  []string
		wantErrno uint
	}{
		{
			name:      "no runtime, clone without clone3",
			trace:     func(t *testing.T) *Trace { return traceOf(t, X8664, "read", "clone", "exit_group") },
			opts:      []GenerateOption{WithRuntime("none", false)},
			wantAllow: []string{"clone", "exit_group", "read"},
			wantDeny:  []string{"clone3"},
			wantArch:  []string{"SCMP_ARCH_X86_64"},
			wantErrno: 1,
		},
		{
			name:      "clone3 used: no ENOSYS rule",
			trace:     func(t *testing.T) *Trace { return traceOf(t, X8664, "clone", "clone3", "exit_group") },
			opts:      []GenerateOption{WithRuntime("none", false)},
			wantAllow: []string{"clone", "clone3", "exit_group"},
			wantDeny:  []string{},
		},
		{
			name:      "no clone: no clone3 rule",
			trace:     func(t *testing.T) *Trace { return traceOf(t, X8664, "read", "exit_group") },
			opts:      []GenerateOption{WithRuntime("none", false), WithDefaultErrno(38)},
			wantAllow: []string{"exit_group", "read"},
			wantDeny:  []string{},
			wantErrno: 38,
		},
		{
			name:      "runc with no-new-privileges adds its calls",
			trace:     func(t *testing.T) *Trace { return traceOf(t, X8664, "exit_group") },
			opts:      []GenerateOption{WithRuntime("runc", true)},
			wantAllow: sortedUnique(append([]string{"exit_group"}, runcNNP.Names...)),
		},
		{
			name: "i386 calls add SCMP_ARCH_X86",
			trace: func(t *testing.T) *Trace {
				tr := traceOf(t, X8664, "execve")
				tr.Syscalls.Add(I386, "mmap2")
				return tr
			},
			opts:      []GenerateOption{WithRuntime("none", false)},
			wantAllow: []string{"execve", "mmap2"},
			wantArch:  []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"},
		},
		{
			name: "partial trace refused",
			trace: func(t *testing.T) *Trace {
				tr := traceOf(t, X8664, "read")
				tr.Partial = []Partial{{Log: "x.log", Reason: "a -e trace= filter"}}
				return tr
			},
			wantErr: "--allow-partial",
		},
		{
			name: "partial trace allowed",
			trace: func(t *testing.T) *Trace {
				tr := traceOf(t, X8664, "read")
				tr.Partial = []Partial{{Log: "x.log", Reason: "a -e trace= filter"}}
				return tr
			},
			opts:      []GenerateOption{WithAllowPartial(true), WithRuntime("none", false)},
			wantAllow: []string{"read"},
		},
		{
			name:    "empty trace refused",
			trace:   func(t *testing.T) *Trace { return &Trace{} },
			wantErr: "denies everything",
		},
		{
			name:    "unknown runtime",
			trace:   func(t *testing.T) *Trace { return traceOf(t, X8664, "read") },
			opts:    []GenerateOption{WithRuntime("kata", false)},
			wantErr: `unknown container runtime "kata"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Generate(tt.trace(t), tt.opts...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.DefaultAction != ActErrno {
				t.Errorf("defaultAction = %s", p.DefaultAction)
			}
			if tt.wantErrno != 0 && errnoOf(p.DefaultErrnoRet) != tt.wantErrno {
				t.Errorf("defaultErrnoRet = %d, want %d", errnoOf(p.DefaultErrnoRet), tt.wantErrno)
			}
			if tt.wantAllow != nil {
				if d := cmp.Diff(tt.wantAllow, ruleNames(p, ActAllow)); d != "" {
					t.Errorf("allowed (-want +got):\n%s", d)
				}
			}
			if tt.wantDeny != nil {
				if d := cmp.Diff(tt.wantDeny, ruleNames(p, ActErrno), cmpEmpty); d != "" {
					t.Errorf("explicit errno rules (-want +got):\n%s", d)
				}
			}
			if tt.wantArch != nil {
				if d := cmp.Diff(tt.wantArch, p.Architectures); d != "" {
					t.Errorf("architectures (-want +got):\n%s", d)
				}
			}
			for _, r := range p.Syscalls {
				if r.Action == ActErrno && errnoOf(r.ErrnoRet) != errnoENOSYS {
					t.Errorf("rule %v has errno %d", r.Names, errnoOf(r.ErrnoRet))
				}
			}
		})
	}
}

var cmpEmpty = cmp.Comparer(func(a, b []string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return cmp.Equal([]string(a), []string(b))
})

func TestRuntimeSets(t *testing.T) {
	for _, rs := range runtimeSets {
		t.Run(rs.Describe(), func(t *testing.T) {
			if rs.Version == "" || rs.Measured == "" {
				t.Error("a measured set must say what it was measured with")
			}
			if d := cmp.Diff(sortedUnique(rs.Names), rs.Names); d != "" {
				t.Errorf("names not sorted/unique:\n%s", d)
			}
			for _, n := range rs.Names {
				if _, ok := Number(X8664, n); !ok {
					t.Errorf("%s is not an x86_64 syscall", n)
				}
			}
			if !containsName(rs.Names, "execve") {
				t.Error("every runtime execs the workload under the filter")
			}
		})
	}
	if _, err := RuntimeSyscalls("youki", false); err == nil {
		t.Error("unknown runtime accepted")
	}
}

func TestReadProfile(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{"valid", `{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}`, ""},
		{"unknown field", `{"defaultAction":"SCMP_ACT_ERRNO","syscals":[]}`, `unknown field "syscals"`},
		{"bad default", `{"defaultAction":"SCMP_ACT_MAYBE","syscalls":[]}`, "defaultAction"},
		{"bad rule action", `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"ALLOW"}]}`, "syscalls[0] action"},
		{"rule without names", `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":[],"action":"SCMP_ACT_ALLOW"}]}`, "no names"},
		{"trailing data", `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[]} {}`, "data after"},
		{"not json", `read(0) = 1`, "bad seccomp profile"},
		{"empty", ``, "bad seccomp profile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadProfile(strings.NewReader(tt.in))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrBadProfile) {
				t.Fatalf("err = %v, want ErrBadProfile with %q", err, tt.wantErr)
			}
		})
	}
}

func TestLookupAndWithout(t *testing.T) {
	p := &Profile{DefaultAction: ActErrno, DefaultErrnoRet: uintPtr(1), Syscalls: []Rule{
		{Names: []string{"read", "write"}, Action: ActAllow},
		{Names: []string{"clone3"}, Action: ActErrno, ErrnoRet: uintPtr(38)},
		{Names: []string{"socket"}, Action: ActAllow, Args: []Arg{{Index: 0, Value: 40, Op: "SCMP_CMP_NE"}}},
	}}
	tests := []struct {
		name, action string
		errno        uint
		cond         bool
	}{
		{"read", ActAllow, 1, false},
		{"clone3", ActErrno, 38, false},
		{"socket", ActErrno, 1, true},
		{"mount", ActErrno, 1, false},
	}
	for _, tt := range tests {
		a, e, c := p.Lookup(tt.name)
		if a != tt.action || e != tt.errno || c != tt.cond {
			t.Errorf("Lookup(%s) = %s %d %v, want %s %d %v", tt.name, a, e, c, tt.action, tt.errno, tt.cond)
		}
	}
	q := p.Without("write")
	if a, _, _ := q.Lookup("write"); a != ActErrno {
		t.Errorf("Without(write): write is %s", a)
	}
	if a, _, _ := p.Lookup("write"); a != ActAllow {
		t.Error("Without changed the original")
	}
	if r := q.Without("read").Syscalls; len(r) != 2 || r[0].Names[0] != "clone3" {
		t.Errorf("a rule left without names must go: %+v", r)
	}
	if a, e, _ := q.Without("clone3").Lookup("clone3"); a != ActErrno || e != 38 {
		t.Error("Without must only remove allow rules")
	}
}
