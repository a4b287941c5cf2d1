package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func Test_NewCmdRewrite(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want func(o *RewriteOptions) bool
		code int
	}{
		{"dockerfile", []string{"Dockerfile"}, func(o *RewriteOptions) bool { return o.Dockerfile == "Dockerfile" && !o.Diff }, 0},
		{"flags", []string{"--diff", "--explain", "--no-pin", "-o", "out", "--image", "oci:x", "Dockerfile"}, func(o *RewriteOptions) bool {
			return o.Diff && o.Explain && o.NoPin && o.Output == "out" && o.Image == "oci:x"
		}, 0},
		{"image only", []string{"--image", "reg/app:1", "--emit-image", "oci:out"}, func(o *RewriteOptions) bool { return o.EmitImage == "oci:out" }, 0},
		{"nothing to do", nil, nil, ExitUsage},
		{"emit with dockerfile", []string{"--image", "x", "--emit-image", "oci:o", "Dockerfile"}, nil, ExitUsage},
		{"probe without verify", []string{"--probe", "x", "Dockerfile"}, nil, ExitUsage},
		{"two files", []string{"a", "b"}, nil, ExitUsage},
		{"bad flag", []string{"--nope", "Dockerfile"}, nil, ExitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got *RewriteOptions
			cmd := NewCmdRewrite(func(_ context.Context, o *RewriteOptions) error { got = o; return nil })
			setFlagErrors(cmd)
			cmd.SetArgs(tc.args)
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			err := cmd.Execute()
			if code := ExitCode(err); code != tc.code {
				t.Fatalf("exit %d (%v), want %d", code, err, tc.code)
			}
			if tc.want != nil && (got == nil || !tc.want(got)) {
				t.Errorf("options %+v", got)
			}
		})
	}
}

func Test_rewriteRun(t *testing.T) {
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	src := "FROM debian:bookworm\nADD app /app\nCMD /app\n"
	if err := os.WriteFile(df, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "Bad.Dockerfile")
	if err := os.WriteFile(bad, []byte("FROM debian\nNOPE x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	existing := filepath.Join(dir, "existing")
	if err := os.WriteFile(existing, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		o       RewriteOptions
		code    int
		out     string // substring of stdout
		errText string // substring of the error or stderr
	}{
		{"stdout", RewriteOptions{Dockerfile: df, NoPin: true}, 0, "COPY app /app\nCMD [\"/app\"]\n", "IH3002"},
		{"diff", RewriteOptions{Dockerfile: df, NoPin: true, Diff: true}, 0, "-ADD app /app\n-CMD /app\n+COPY app /app\n", ""},
		{"explain", RewriteOptions{Dockerfile: df, NoPin: true, Explain: true}, 0, "Dockerfile:2: IH3003 add-local-files", ""},
		{"parse error", RewriteOptions{Dockerfile: bad, NoPin: true}, ExitUsage, "", "Bad.Dockerfile:2: unknown instruction: NOPE"},
		{"missing file", RewriteOptions{Dockerfile: filepath.Join(dir, "nope")}, ExitUsage, "", "no such file"},
		{"output over input", RewriteOptions{Dockerfile: df, NoPin: true, Output: df}, ExitUsage, "", "is the input Dockerfile"},
		{"output exists", RewriteOptions{Dockerfile: df, NoPin: true, Output: existing}, ExitUsage, "", "exists"},
		{"output forced", RewriteOptions{Dockerfile: df, NoPin: true, Output: existing, Force: true}, 0, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			o := tc.o
			o.Out, o.Err = &out, &errb
			err := rewriteRun(t.Context(), &o)
			if code := ExitCode(err); code != tc.code {
				t.Fatalf("exit %d (%v), want %d", code, err, tc.code)
			}
			if !strings.Contains(out.String(), tc.out) {
				t.Errorf("stdout %q lacks %q", out.String(), tc.out)
			}
			all := errb.String()
			if err != nil {
				all += err.Error()
			}
			if !strings.Contains(all, tc.errText) {
				t.Errorf("stderr/error %q lacks %q", all, tc.errText)
			}
		})
	}
	if b, _ := os.ReadFile(df); string(b) != src {
		t.Errorf("the input Dockerfile changed:\n%s", b)
	}
	if b, _ := os.ReadFile(existing); !strings.Contains(string(b), "USER 65532:65532") {
		t.Errorf("--force did not write the hardened Dockerfile:\n%s", b)
	}
}

func Test_NewCmdRewriteBuildKit(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  string // BUILDKIT_HOST
		args []string
		want string // o.BuildKit
		code int
	}{
		{name: "unset", args: []string{"--verify", "Dockerfile"}},
		{name: "flag", args: []string{"--verify", "--buildkit-addr", "unix:///run/bk.sock", "Dockerfile"}, want: "unix:///run/bk.sock"},
		{name: "from BUILDKIT_HOST", env: "tcp://127.0.0.1:1234", args: []string{"--verify", "Dockerfile"}, want: "tcp://127.0.0.1:1234"},
		{name: "flag over BUILDKIT_HOST", env: "tcp://127.0.0.1:1234", args: []string{"--verify", "--buildkit-addr", "unix:///b.sock", "Dockerfile"}, want: "unix:///b.sock"},
		{name: "empty flag means buildah", env: "tcp://127.0.0.1:1234", args: []string{"--verify", "--buildkit-addr=", "Dockerfile"}, want: ""},
		{name: "BUILDKIT_HOST without verify is ignored", env: "tcp://127.0.0.1:1234", args: []string{"Dockerfile"}, want: "tcp://127.0.0.1:1234"},
		{name: "flag without verify", args: []string{"--buildkit-addr", "unix:///b.sock", "Dockerfile"}, code: ExitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("BUILDKIT_HOST", tc.env)
			var got *RewriteOptions
			cmd := NewCmdRewrite(func(_ context.Context, o *RewriteOptions) error { got = o; return nil })
			setFlagErrors(cmd)
			cmd.SetArgs(tc.args)
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			err := cmd.Execute()
			if code := ExitCode(err); code != tc.code {
				t.Fatalf("exit %d (%v), want %d", code, err, tc.code)
			}
			if tc.code == 0 && (got == nil || got.BuildKit != tc.want) {
				t.Errorf("BuildKit = %+v, want %q", got, tc.want)
			}
		})
	}
}

// Test_rewriteRunBuildKitUnreachable: --buildkit-addr reaches rewrite.Verify, and a buildkitd
// that is not there is a one-line runtime error (exit 3) naming the address.
func Test_rewriteRunBuildKitUnreachable(t *testing.T) {
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	if err := os.WriteFile(df, []byte("FROM debian:bookworm\nCMD [\"true\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := "unix://" + filepath.Join(dir, "no-buildkitd.sock")
	var out, errb bytes.Buffer
	o := &RewriteOptions{Out: &out, Err: &errb, Dockerfile: df, NoPin: true, Verify: true, BuildKit: addr,
		LoadImage: loadRewriteImage, Verifier: runVerify}
	err := rewriteRun(t.Context(), o)
	if code := ExitCode(err); code != ExitRuntime {
		t.Fatalf("exit %d (%v), want %d", code, err, ExitRuntime)
	}
	if msg := err.Error(); !strings.Contains(msg, "buildkitd at "+addr) || strings.Contains(msg, "\n") {
		t.Errorf("error %q: want one line naming %s", msg, addr)
	}
}
