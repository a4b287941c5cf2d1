package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/imgharden/imgharden/pkg/finding"
)

var (
	testRuleA = &finding.Rule{ID: "IH1001", Slug: "setuid-binary", Title: "File has the setuid or setgid bit",
		Severity: finding.SeverityHigh, Category: finding.CategoryImageFS, Refs: []string{"ecs:R4"},
		Description: "Setuid files run with their owner's privileges.", Remediation: "chmod a-s"}
	testRuleB = &finding.Rule{ID: "IH2005", Slug: "no-healthcheck", Title: "No HEALTHCHECK",
		Severity: finding.SeverityInfo, Category: finding.CategoryConfig, Experimental: true,
		Description: "No HEALTHCHECK.", Remediation: "Add one."}
	testRuleC = &finding.Rule{ID: "IH0001", Slug: "check-failed", Title: "A check could not complete",
		Severity: finding.SeverityMedium, Category: finding.CategoryMeta, Deprecated: true}
)

func testRules() []*finding.Rule { return []*finding.Rule{testRuleB, testRuleA, testRuleC} }

func Test_NewCmdRules(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		want    RulesOptions
		wantErr string
		usage   bool
	}{
		{name: "catalog", args: nil, want: RulesOptions{Format: "text"}},
		{name: "one rule", args: []string{"IH1001"}, want: RulesOptions{Format: "text", Key: "IH1001"}},
		{name: "json", args: []string{"--format", "json"}, want: RulesOptions{Format: "json"}},
		{name: "short flag", args: []string{"-f", "json", "setuid-binary"}, want: RulesOptions{Format: "json", Key: "setuid-binary"}},
		{name: "bad format", args: []string{"--format", "sarif"}, wantErr: `unknown format "sarif" for rules (want text or json)`, usage: true},
		{name: "two args", args: []string{"IH1001", "IH1002"}, wantErr: "accepts at most 1 arg(s), received 2", usage: true},
		{name: "unknown flag", args: []string{"--nope"}, wantErr: "unknown flag: --nope", usage: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got *RulesOptions
			cmd := NewCmdRules(func(_ context.Context, o *RulesOptions) error { got = o; return nil })
			cmd.SetArgs(tc.args)
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			setFlagErrors(cmd)
			err := cmd.Execute()
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				if tc.usage && ExitCode(err) != ExitUsage {
					t.Errorf("exit code %d, want %d", ExitCode(err), ExitUsage)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Format != tc.want.Format || got.Key != tc.want.Key {
				t.Errorf("options = {Format:%q Key:%q}, want {Format:%q Key:%q}", got.Format, got.Key, tc.want.Format, tc.want.Key)
			}
			if got.Rules == nil || got.Pages == nil || got.Out == nil {
				t.Error("Rules, Pages and Out must be wired")
			}
		})
	}
}

func Test_rulesRun(t *testing.T) {
	pages := fstest.MapFS{"rules/IH1001.md": {Data: []byte("# IH1001 setuid-binary: File has the setuid or setgid bit\nwritten page")}}
	for _, tc := range []struct {
		name     string
		o        RulesOptions
		want     string
		wantErr  string
		wantExit int
	}{
		{name: "table", o: RulesOptions{Format: "text"}, want: "" +
			"ID      SLUG            SEVERITY  CATEGORY          TITLE\n" +
			"IH0001  check-failed    medium    meta              A check could not complete (deprecated)\n" +
			"IH1001  setuid-binary   high      image-filesystem  File has the setuid or setgid bit\n" +
			"IH2005  no-healthcheck  info      image-config      No HEALTHCHECK (experimental)\n"},
		{name: "written page by ID", o: RulesOptions{Format: "text", Key: "IH1001", Pages: pages},
			want: "# IH1001 setuid-binary: File has the setuid or setgid bit\nwritten page\n"},
		{name: "written page by slug, any case", o: RulesOptions{Format: "text", Key: "SETUID-binary", Pages: pages},
			want: "# IH1001 setuid-binary: File has the setuid or setgid bit\nwritten page\n"},
		{name: "generated page", o: RulesOptions{Format: "text", Key: "no-healthcheck", Pages: pages}, want: "" +
			"# IH2005 no-healthcheck: No HEALTHCHECK\n" +
			"Severity: info · Category: image-config · References: none\n\n" +
			"Experimental: enable it with `experimental: [IH2005]` in .imgharden.yaml.\n\n" +
			"## Description\n\nNo HEALTHCHECK.\n\n" +
			"## Remediation\n\nAdd one.\n\n" +
			"## References\n\n- " + finding.DocBase + "IH2005.md\n"},
		{name: "generated page without pages", o: RulesOptions{Format: "text", Key: "IH1001"}, want: "" +
			"# IH1001 setuid-binary: File has the setuid or setgid bit\n" +
			"Severity: high · Category: image-filesystem · References: ecs:R4\n\n" +
			"## Description\n\nSetuid files run with their owner's privileges.\n\n" +
			"## Remediation\n\nchmod a-s\n\n" +
			"## References\n\n- ecs:R4\n- " + finding.DocBase + "IH1001.md\n"},
		{name: "unknown rule", o: RulesOptions{Format: "text", Key: "IH9999"},
			wantErr: `unknown rule "IH9999"; run 'imgharden rules' for the list`, wantExit: ExitUsage},
		{name: "unknown rule in json", o: RulesOptions{Format: "json", Key: "nope"},
			wantErr: `unknown rule "nope"; run 'imgharden rules' for the list`, wantExit: ExitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			o := tc.o
			o.Out = &out
			o.Rules = testRules
			err := rulesRun(context.Background(), &o)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				if ExitCode(err) != tc.wantExit {
					t.Errorf("exit code %d, want %d", ExitCode(err), tc.wantExit)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, out.String()); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func Test_rulesRunJSON(t *testing.T) {
	var out bytes.Buffer
	if err := rulesRun(context.Background(), &RulesOptions{Out: &out, Format: "json", Rules: testRules}); err != nil {
		t.Fatal(err)
	}
	var list []ruleJSON
	if err := json.Unmarshal(out.Bytes(), &list); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	var ids []string
	for _, r := range list {
		ids = append(ids, r.ID)
	}
	if diff := cmp.Diff([]string{"IH0001", "IH1001", "IH2005"}, ids); diff != "" {
		t.Errorf("ids (-want +got)\n%s", diff)
	}
	if !strings.Contains(out.String(), `"refs": []`) {
		t.Error("a rule without refs must have refs: [] (not null)")
	}

	out.Reset()
	if err := rulesRun(context.Background(), &RulesOptions{Out: &out, Format: "json", Key: "ih1001", Rules: testRules}); err != nil {
		t.Fatal(err)
	}
	var one ruleJSON
	if err := json.Unmarshal(out.Bytes(), &one); err != nil {
		t.Fatal(err)
	}
	want := ruleJSON{ID: "IH1001", Slug: "setuid-binary", Title: "File has the setuid or setgid bit", Severity: "high",
		Category: "image-filesystem", Description: "Setuid files run with their owner's privileges.", Remediation: "chmod a-s",
		Refs: []string{"ecs:R4"}, HelpURI: finding.DocBase + "IH1001.md"}
	if diff := cmp.Diff(want, one); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

type brokenFS struct{}

func (brokenFS) Open(string) (fs.File, error) { return nil, errors.New("disk on fire") }

func Test_rulesRunErrors(t *testing.T) {
	dup := func() []*finding.Rule {
		return []*finding.Rule{testRuleA, {ID: "IH1001", Slug: "other"}}
	}
	for _, tc := range []struct {
		name    string
		o       RulesOptions
		wantErr string
	}{
		{"duplicate IDs", RulesOptions{Format: "text", Rules: dup}, "rule catalog: rules IH1001 and IH1001 share the key \"IH1001\""},
		{"unreadable page", RulesOptions{Format: "text", Key: "IH1001", Rules: testRules, Pages: brokenFS{}}, "reading the page of IH1001: disk on fire"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Out = &bytes.Buffer{}
			err := rulesRun(context.Background(), &tc.o)
			if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("error = %v, want %q", err, tc.wantErr)
			}
			if ExitCode(err) != ExitRuntime {
				t.Errorf("exit code %d, want %d", ExitCode(err), ExitRuntime)
			}
		})
	}
}

// The real command, through the root: every rule in the wired catalog has a page to print.
func TestRulesThroughRoot(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		wantCode int
		want     string
	}{
		{[]string{"rules"}, ExitOK, "IH0001  check-failed"},
		{[]string{"rules", "IH0003"}, ExitOK, "# IH0003 unsafe-layer-entry: Layer entry name escapes the image root\n"},
		{[]string{"rules", "unsafe-layer-entry", "-f", "json"}, ExitOK, `"id": "IH0003"`},
		{[]string{"rules", "IH4242"}, ExitUsage, ""},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			root := NewRootCmd("test")
			var out, errOut bytes.Buffer
			root.SetOut(&out)
			root.SetErr(&errOut)
			if code := Execute(context.Background(), root, tc.args); code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.wantCode, errOut.String())
			}
			if !strings.Contains(out.String(), tc.want) {
				t.Errorf("stdout lacks %q:\n%s", tc.want, out.String())
			}
		})
	}
}
