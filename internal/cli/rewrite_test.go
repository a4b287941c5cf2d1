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
