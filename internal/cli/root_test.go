package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// Every error Execute prints is one line on stderr, usage errors from cobra included.
func TestExecuteErrorsAreOneLine(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		want     string // substring of stderr; "" = stderr must be empty
	}{
		{"ok", []string{"version"}, ExitOK, ""},
		{"unknown command with a suggestion", []string{"scna", "x"}, ExitUsage, `unknown command "scna" for "imgharden" Did you mean this? scan`},
		{"unknown command", []string{"frobnicate"}, ExitUsage, `unknown command "frobnicate"`},
		{"unknown flag", []string{"scan", "--no-such-flag", "x"}, ExitUsage, "unknown flag: --no-such-flag"},
		{"missing argument", []string{"scan"}, ExitUsage, "accepts 1 arg(s), received 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := NewRootCmd("test")
			var out, errOut bytes.Buffer
			root.SetOut(&out)
			root.SetErr(&errOut)
			if code := Execute(context.Background(), root, tc.args); code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.wantCode, errOut.String())
			}
			got := errOut.String()
			if tc.want == "" {
				if got != "" {
					t.Errorf("stderr %q, want none", got)
				}
				return
			}
			if !strings.HasPrefix(got, "imgharden: ") || strings.Count(got, "\n") != 1 || !strings.HasSuffix(got, "\n") || !strings.Contains(got, tc.want) {
				t.Errorf("stderr %q, want one line containing %q", got, tc.want)
			}
		})
	}
}
