package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/imgharden/imgharden/pkg/seccomp"
)

const straceDir = "../../testdata/strace"

// run executes imgharden with args and returns stdout, stderr and the exit code.
func run(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	root := NewRootCmd("test")
	var out, errOut bytes.Buffer
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errOut)
	code := Execute(context.Background(), root, args)
	return out.String(), errOut.String(), code
}

func TestSeccompGenerateExitCodes(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.bin")
	if err := os.WriteFile(garbage, []byte{0, 1, 2, 0xff, '\n', 'x', '(', '\n'}, 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.log")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ls := filepath.Join(straceDir, "ls-plain", "trace.log")
	partial := filepath.Join(straceDir, "curl-trace-net-seccomp-bpf", "trace.log")
	lsLog, err := os.ReadFile(ls)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		wantErr  string // in stderr
		wantOut  string // in stdout
	}{
		{name: "full log", args: []string{"seccomp", "generate", ls}, wantCode: 0, wantOut: `"defaultAction": "SCMP_ACT_ERRNO"`},
		{name: "stdin", stdin: string(lsLog), args: []string{"seccomp", "generate", "-", "--runtime", "none"}, wantCode: 0, wantOut: `"getdents64"`},
		{name: "-ff prefix", args: []string{"seccomp", "generate", filepath.Join(straceDir, "py-subproc-ff", "trace.log")}, wantCode: 0, wantOut: `"wait4"`},
		{name: "garbage", args: []string{"seccomp", "generate", garbage}, wantCode: 3, wantErr: "garbage.bin: no strace syscall line found"},
		{name: "empty file", args: []string{"seccomp", "generate", empty}, wantCode: 3, wantErr: "empty log"},
		{name: "empty stdin", args: []string{"seccomp", "generate", "-"}, wantCode: 3, wantErr: "-: empty log"},
		{name: "not a strace log", args: []string{"seccomp", "generate", filepath.Join(straceDir, "README.md")}, wantCode: 3, wantErr: "no strace syscall line"},
		{name: "missing log", args: []string{"seccomp", "generate", filepath.Join(dir, "nope")}, wantCode: 3, wantErr: "no such file, directory or -ff prefix"},
		{name: "partial refused", args: []string{"seccomp", "generate", partial}, wantCode: 3, wantErr: "--allow-partial"},
		{name: "partial allowed", args: []string{"seccomp", "generate", "--allow-partial", partial}, wantCode: 0, wantErr: "warning: partial log accepted", wantOut: `"connect"`},
		{name: "no log", args: []string{"seccomp", "generate"}, wantCode: 2, wantErr: "requires at least 1 arg"},
		{name: "bad runtime", args: []string{"seccomp", "generate", "--runtime", "kata", ls}, wantCode: 2, wantErr: "unknown container runtime"},
		{name: "bad errno", args: []string{"seccomp", "generate", "--default-errno", "0", ls}, wantCode: 2, wantErr: "--default-errno 0"},
		{name: "bad flag", args: []string{"seccomp", "generate", "--frobnicate", ls}, wantCode: 2, wantErr: "unknown flag"},
		{name: "stdin twice", args: []string{"seccomp", "generate", "-", "-"}, wantCode: 2, wantErr: "stdin (-) given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := run(t, tt.stdin, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.wantCode, errOut)
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr %q does not contain %q", errOut, tt.wantErr)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("stdout does not contain %q:\n%.300s", tt.wantOut, out)
			}
			if code != 0 {
				if out != "" {
					t.Errorf("a failed run wrote a profile: %.200q", out)
				}
				if strings.Count(errOut, "\n") != 1 {
					t.Errorf("error is not one line: %q", errOut)
				}
			}
		})
	}
}

func TestSeccompGenerateOutputFile(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "p.json")
	if err := os.WriteFile(out, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A failing run leaves the existing file alone.
	if _, _, code := run(t, "", "seccomp", "generate", "-o", out, filepath.Join(straceDir, "README.md")); code != 3 {
		t.Fatalf("exit %d", code)
	}
	if b, _ := os.ReadFile(out); string(b) != "old" {
		t.Fatalf("output overwritten by a failed run: %q", b)
	}
	stdout, _, code := run(t, "", "seccomp", "generate", "-o", out, filepath.Join(straceDir, "ls-plain", "trace.log"))
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	want, err := os.ReadFile(filepath.Join(straceDir, "ls-plain.profile.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("(-golden +written):\n%s", d)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
}

func Test_NewCmdSeccompGenerate(t *testing.T) {
	tests := []struct {
		args []string
		want SeccompGenerateOptions
	}{
		{[]string{"a.log"}, SeccompGenerateOptions{Logs: []string{"a.log"}, Profile: profileFlags{Runtime: "runc", DefaultErrno: 1}}},
		{[]string{"--runtime", "crun", "--no-new-privileges", "--default-errno", "38", "--allow-partial", "-o", "p.json", "a", "b"},
			SeccompGenerateOptions{Logs: []string{"a", "b"}, Output: "p.json",
				Profile: profileFlags{Runtime: "crun", NoNewPrivileges: true, DefaultErrno: 38, AllowPartial: true}}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var got *SeccompGenerateOptions
			cmd := NewCmdSeccompGenerate(func(_ context.Context, o *SeccompGenerateOptions) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(&bytes.Buffer{})
			if err := cmd.Execute(); err != nil {
				t.Fatal(err)
			}
			got.In, got.Out, got.ErrOut = nil, nil, nil
			if d := cmp.Diff(tt.want, *got, cmp.AllowUnexported(SeccompGenerateOptions{})); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func writeJSON(t *testing.T, dir, name, s string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSeccompMerge(t *testing.T) {
	dir := t.TempDir()
	a := writeJSON(t, dir, "a.json", `{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"syscalls":[{"names":["read","clone"],"action":"SCMP_ACT_ALLOW"},{"names":["clone3"],"action":"SCMP_ACT_ERRNO","errnoRet":38}]}`)
	b := writeJSON(t, dir, "b.json", `{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"syscalls":[{"names":["write","clone3"],"action":"SCMP_ACT_ALLOW"}]}`)
	c := writeJSON(t, dir, "c.json", `{"defaultAction":"SCMP_ACT_KILL","syscalls":[]}`)
	bad := writeJSON(t, dir, "bad.json", `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[],"extra":1}`)
	out, errOut, code := run(t, "", "seccomp", "merge", a, b)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var p seccomp.Profile
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Syscalls) != 1 || strings.Join(p.Syscalls[0].Names, ",") != "clone,clone3,read,write" {
		t.Errorf("merged rules: %+v", p.Syscalls)
	}
	for _, tt := range []struct {
		args    []string
		code    int
		wantErr string
	}{
		{[]string{a, c}, 3, "different defaults"},
		{[]string{a, bad}, 3, `unknown field "extra"`},
		{[]string{a, filepath.Join(dir, "missing.json")}, 3, "no such file"},
		{nil, 2, "requires at least 1 arg"},
	} {
		_, errOut, code := run(t, "", append([]string{"seccomp", "merge"}, tt.args...)...)
		if code != tt.code || !strings.Contains(errOut, tt.wantErr) {
			t.Errorf("merge %v: exit %d %q, want %d %q", tt.args, code, errOut, tt.code, tt.wantErr)
		}
	}
}

func TestSeccompDiff(t *testing.T) {
	dir := t.TempDir()
	p := writeJSON(t, dir, "p.json", `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","mount","clone"],"action":"SCMP_ACT_ALLOW"}]}`)
	out, errOut, code := run(t, "", "seccomp", "diff", p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"added (the profile allows, the reference refuses): 1\n  mount", "loosened", "  clone", "removed", "allowed by both: 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
	out, _, code = run(t, "", "seccomp", "diff", p, "--cap-add", "sys_admin", "-f", "json")
	if code != 0 {
		t.Fatal(code)
	}
	var d seccomp.Diff
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Added) != 0 || len(d.Loosened) != 0 || d.Kept != 3 {
		t.Errorf("with CAP_SYS_ADMIN mount and clone are Docker defaults too: %+v", d)
	}
	out, _, code = run(t, "", "seccomp", "diff", p, "--against", p, "-f", "json")
	if code != 0 || !strings.Contains(out, `"kept": 3`) {
		t.Errorf("diff against itself: %d %s", code, out)
	}
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{p, "-f", "xml"}, 2, "--format"},
		{[]string{}, 2, "accepts 1 arg"},
		{[]string{filepath.Join(straceDir, "ls-plain", "trace.log")}, 3, "bad seccomp profile"},
	} {
		_, errOut, code := run(t, "", append([]string{"seccomp", "diff"}, tt.args...)...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("diff %v: exit %d %q, want %d %q", tt.args, code, errOut, tt.code, tt.want)
		}
	}
}

func Test_seccompVerifyRun(t *testing.T) {
	dir := t.TempDir()
	prof := writeJSON(t, dir, "p.json", `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}`)
	tests := []struct {
		name     string
		report   *seccomp.VerifyReport
		wantCode int
		wantOut  []string
	}{
		{
			name: "all pass",
			report: &seccomp.VerifyReport{
				Runs:   []seccomp.VerifyRun{{Kind: "run", N: 1, OK: true}, {Kind: "run", N: 2, OK: true}},
				Denies: []seccomp.VerifyRun{{Kind: "deny", Syscall: "mount", OK: true, Detail: "refused with errno 1"}},
			},
			wantOut: []string{"run 1/2: ok", "run 2/2: ok", "deny mount: ok, refused with errno 1", "verify: 2/2 runs passed, 1/1 calls refused as expected"},
		},
		{
			name: "a run fails",
			report: &seccomp.VerifyReport{Runs: []seccomp.VerifyRun{{Kind: "run", N: 1, OK: true},
				{Kind: "run", N: 2, ExitCode: 2, Detail: "ls: cannot open directory '/': Operation not permitted"}}},
			wantCode: 1,
			wantOut:  []string{"run 2/2: FAIL exit 2: ls: cannot open directory", "verify: 1/2 runs passed"},
		},
		{
			name: "a call is not refused",
			report: &seccomp.VerifyReport{Runs: []seccomp.VerifyRun{{Kind: "run", N: 1, OK: true}, {Kind: "run", N: 2, OK: true}},
				Denies: []seccomp.VerifyRun{{Kind: "deny", Syscall: "read", Detail: "the profile allows it"}}},
			wantCode: 1,
			wantOut:  []string{"deny read: FAIL, the profile allows it", "0/1 calls refused"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotOpts seccomp.VerifyOptions
			var out bytes.Buffer
			o := &SeccompVerifyOptions{Out: &out, Profile: prof, Image: "img", Runs: 2, Command: []string{"ls", "/"},
				Container: containerFlags{Network: "none"},
				Verify: func(_ context.Context, _ *seccomp.Podman, vo seccomp.VerifyOptions) (*seccomp.VerifyReport, error) {
					gotOpts = vo
					for _, r := range append(append([]seccomp.VerifyRun(nil), tt.report.Runs...), tt.report.Denies...) {
						vo.Progress(r)
					}
					return tt.report, nil
				}}
			err := seccompVerifyRun(context.Background(), o)
			if code := ExitCode(err); code != tt.wantCode {
				t.Fatalf("exit %d (%v), want %d", code, err, tt.wantCode)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if gotOpts.Run.Image != "img" || gotOpts.Run.Network != "none" || strings.Join(gotOpts.Run.Command, " ") != "ls /" || gotOpts.Runs != 2 {
				t.Errorf("verify options: %+v", gotOpts)
			}
		})
	}
}

func TestSeccompVerifyUsage(t *testing.T) {
	prof := writeJSON(t, t.TempDir(), "p.json", `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[]}`)
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--image", "x"}, 2, "needs --profile and --image"},
		{[]string{"--profile", prof}, 2, "needs --profile and --image"},
		{[]string{"--profile", prof, "--image", "x", "--runs", "0"}, 2, "--runs 0"},
		{[]string{"--profile", prof, "--image", "x", "--expect-deny", "frobnicate"}, 2, "not an x86_64 syscall"},
		{[]string{"--profile", prof, "--image", "x", "ls"}, 2, "put the command after --"},
		{[]string{"--profile", filepath.Join(straceDir, "README.md"), "--image", "x"}, 3, "bad seccomp profile"},
	} {
		_, errOut, code := run(t, "", append([]string{"seccomp", "verify"}, tt.args...)...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("verify %v: exit %d %q, want %d %q", tt.args, code, errOut, tt.code, tt.want)
		}
	}
}

func Test_NewCmdSeccompRecord(t *testing.T) {
	tests := []struct {
		args     []string
		wantErr  string
		wantCmd  []string
		wantDir  string
		wantNet  string
		wantVols []string
	}{
		{args: []string{"-o", "out", "--", "ls", "-la"}, wantCmd: []string{"ls", "-la"}, wantDir: "out"},
		{args: []string{"-o", "out", "--image", "img", "--network", "none", "-v", "/a:/b", "--", "srv"}, wantCmd: []string{"srv"},
			wantDir: "out", wantNet: "none", wantVols: []string{"/a:/b"}},
		{args: []string{"--", "ls"}, wantErr: "needs -o DIR"},
		{args: []string{"-o", "out"}, wantErr: "no command to record"},
		{args: []string{"-o", "out", "ls"}, wantErr: "put the command after --"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var got *SeccompRecordOptions
			cmd := NewCmdSeccompRecord(func(_ context.Context, o *SeccompRecordOptions) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || ExitCode(err) != 2 {
					t.Fatalf("err = %v, want usage error %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.wantCmd, got.Command); d != "" {
				t.Error(d)
			}
			if got.Dir != tt.wantDir || got.Container.Network != tt.wantNet || !cmp.Equal(tt.wantVols, got.Container.Volumes) {
				t.Errorf("options: %+v", got)
			}
		})
	}
}

func Test_seccompRecordRun(t *testing.T) {
	var got seccomp.RecordOptions
	var gotRuntime string
	var out bytes.Buffer
	tr, err := seccomp.ParseReader(context.Background(), "x", strings.NewReader("execve(\"/x\", [], 0x0) = 0\nbrk(NULL) = 0x1\nexit_group(0) = ?\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := &SeccompRecordOptions{Out: &out, ErrOut: &bytes.Buffer{}, Image: "img", Dir: "d", Runtime: "crun", Command: []string{"true"},
		Profile: profileFlags{NoNewPrivileges: true, DefaultErrno: 1},
		Record: func(_ context.Context, pm *seccomp.Podman, ro seccomp.RecordOptions) (*seccomp.Recording, error) {
			got, gotRuntime = ro, pm.Runtime
			return &seccomp.Recording{LogPath: "d/strace.log", ProfilePath: "d/profile.json", Trace: tr}, nil
		}}
	if err := seccompRecordRun(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if gotRuntime != "crun" || got.Image != "img" || got.Dir != "d" || !got.Run.NoNewPrivileges || len(got.Generate) != 3 {
		t.Errorf("record options: runtime %q %+v", gotRuntime, got)
	}
	if !strings.Contains(out.String(), "profile: d/profile.json (3 syscalls traced)") {
		t.Errorf("output: %s", out.String())
	}
}
