package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/imgharden/imgharden/pkg/finding"
)

var rules = []*finding.Rule{
	{ID: "IH0001", Slug: "check-failed", Title: "A check could not complete", Severity: finding.SeverityMedium, Category: finding.CategoryMeta},
	{ID: "IH1001", Slug: "setuid-binary", Title: "File has the setuid | setgid bit", Severity: finding.SeverityHigh, Category: finding.CategoryImageFS, Experimental: true},
}

const table = "| ID | Slug | Severity | Category | Title |\n" +
	"|----|------|----------|----------|-------|\n" +
	"| [IH0001](docs/rules/IH0001.md) | `check-failed` | medium | meta | A check could not complete |\n" +
	"| [IH1001](docs/rules/IH1001.md) | `setuid-binary` | high | image-filesystem | File has the setuid \\| setgid bit (experimental) |\n"

func TestRuleTable(t *testing.T) {
	if diff := cmp.Diff(table, ruleTable(rules)); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

func TestRewrite(t *testing.T) {
	for _, tc := range []struct {
		name, doc, want, wantErr string
	}{
		{"empty table", "# x\n<!-- rules:start -->\n<!-- rules:end -->\nafter\n",
			"# x\n<!-- rules:start -->\nT\n<!-- rules:end -->\nafter\n", ""},
		{"old table replaced", "a\n<!-- rules:start -->\nold\nrows\n<!-- rules:end -->\n",
			"a\n<!-- rules:start -->\nT\n<!-- rules:end -->\n", ""},
		{"no markers", "# readme\n", "", "no <!-- rules:start --> ... <!-- rules:end --> markers"},
		{"only start", "<!-- rules:start -->\n", "", "no <!-- rules:start --> ... <!-- rules:end --> markers"},
		{"reversed", "<!-- rules:end -->\n<!-- rules:start -->\n", "", "<!-- rules:end --> comes before <!-- rules:start -->"},
		{"twice", "<!-- rules:start --><!-- rules:end --><!-- rules:start --><!-- rules:end -->", "", "the rule table markers appear more than once"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := rewrite(tc.doc, "T\n")
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if again, _ := rewrite(got, "T\n"); again != got {
				t.Error("rewrite is not idempotent")
			}
		})
	}
}

func TestRun(t *testing.T) {
	stale := "# imgharden\n\n<!-- rules:start -->\nold\n<!-- rules:end -->\n\nmore\n"
	fresh := "# imgharden\n\n<!-- rules:start -->\n" + table + "<!-- rules:end -->\n\nmore\n"
	for _, tc := range []struct {
		name     string
		content  string
		args     []string
		wantCode int
		wantFile string
		wantErr  string
	}{
		{"writes", stale, nil, 0, fresh, ""},
		{"up to date", fresh, nil, 0, fresh, ""},
		{"check passes", fresh, []string{"-check"}, 0, fresh, ""},
		{"check fails and writes nothing", stale, []string{"-check"}, 1, stale, "the rule table is out of date; run make docs"},
		{"no markers", "# x\n", nil, 1, "# x\n", "no <!-- rules:start -->"},
		{"stray argument", fresh, []string{"extra"}, 2, fresh, "unexpected arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "README.md")
			if err := os.WriteFile(p, []byte(tc.content), 0o640); err != nil {
				t.Fatal(err)
			}
			var out, errOut bytes.Buffer
			code := run(append([]string{"-readme", p}, tc.args...), &out, &errOut, rules)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.wantCode, errOut.String())
			}
			if !strings.Contains(errOut.String(), tc.wantErr) {
				t.Errorf("stderr %q lacks %q", errOut.String(), tc.wantErr)
			}
			got, _ := os.ReadFile(p)
			if diff := cmp.Diff(tc.wantFile, string(got)); diff != "" {
				t.Errorf("file (-want +got)\n%s", diff)
			}
			if info, _ := os.Stat(p); info.Mode().Perm() != 0o640 {
				t.Errorf("mode %v, want 0640", info.Mode().Perm())
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(p), ".gendocs-*")); len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		var errOut bytes.Buffer
		if code := run([]string{"-readme", filepath.Join(t.TempDir(), "nope.md")}, &bytes.Buffer{}, &errOut, rules); code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
	})
	t.Run("duplicate rules", func(t *testing.T) {
		var errOut bytes.Buffer
		dup := []*finding.Rule{rules[0], {ID: "IH0001", Slug: "other"}}
		if code := run([]string{"-readme", "x"}, &bytes.Buffer{}, &errOut, dup); code != 1 || !strings.Contains(errOut.String(), "share the key") {
			t.Errorf("exit %d, stderr %q", code, errOut.String())
		}
	})
}
