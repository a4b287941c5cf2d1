package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/imgharden/imgharden/pkg/finding"
)

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

const example = `# imgharden policy
severity: {IH1002: low, shell-binary: info}
disable: [IH2002]
experimental: [IH1007]
ignore:
  - id: IH1001
    paths: ["/usr/bin/passwd", "/usr/lib/**"]
    image: "registry.example.com/app*"
    reason: passwd needs setuid in this appliance
    expires: 2027-01-31
  - id: setuid-binary
    reason: "  quoted, with spaces  "
`

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want *Config
	}{
		{"the documented example", example, &Config{
			Source:       "p.yaml",
			Severity:     []Override{{"IH1002", finding.SeverityLow, 2}, {"shell-binary", finding.SeverityInfo, 2}},
			Disable:      []RuleRef{{"IH2002", 3}},
			Experimental: []RuleRef{{"IH1007", 4}},
			Ignore: []Ignore{
				{ID: "IH1001", Paths: []string{"/usr/bin/passwd", "/usr/lib/**"}, Image: "registry.example.com/app*",
					Reason: "passwd needs setuid in this appliance", Expires: date("2027-01-31"), Line: 6},
				{ID: "setuid-binary", Reason: "quoted, with spaces", Line: 11},
			},
		}},
		{"empty file", "", &Config{Source: "p.yaml"}},
		{"only comments", "# nothing here\n\n", &Config{Source: "p.yaml"}},
		{"empty mapping", "{}\n", &Config{Source: "p.yaml"}},
		{"null sections", "severity:\ndisable:\nexperimental:\nignore:\n", &Config{Source: "p.yaml"}},
		{"empty lists", "disable: []\nignore: []\n", &Config{Source: "p.yaml"}},
		{"block style, quoted date, lower-case ID", `
severity:
  ih1002: HIGH
ignore:
  - id: ih1001
    reason: ok
    expires: "2030-02-28"
`, &Config{Source: "p.yaml",
			Severity: []Override{{"ih1002", finding.SeverityHigh, 3}},
			Ignore:   []Ignore{{ID: "ih1001", Reason: "ok", Expires: date("2030-02-28"), Line: 5}}}},
		{"aliases", `
ignore:
  - id: IH1001
    paths: &p ["/a/**"]
    reason: one
  - id: IH1002
    paths: *p
    reason: two
`, &Config{Source: "p.yaml", Ignore: []Ignore{
			{ID: "IH1001", Paths: []string{"/a/**"}, Reason: "one", Line: 3},
			{ID: "IH1002", Paths: []string{"/a/**"}, Reason: "two", Line: 6},
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.in), "p.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want string
	}{
		{"unknown top-level key", "severty: {IH1001: low}\n",
			`p.yaml:1: unknown key "severty" (want severity, disable, experimental, ignore)`},
		{"unknown ignore key", "ignore:\n  - id: IH1001\n    reson: typo\n",
			`p.yaml:3: ignore[0]: unknown key "reson" (want id, paths, image, reason, expires)`},
		{"repeated key", "disable: [IH1001]\ndisable: [IH1002]\n",
			`p.yaml:2: key "disable" repeats the one on line 1`},
		{"repeated ignore key", "ignore:\n  - id: IH1001\n    id: IH1002\n    reason: x\n",
			`p.yaml:3: ignore[0]: key "id" repeats the one on line 2`},
		{"merge key", "ignore:\n  - <<: {id: IH1001}\n    reason: x\n",
			`p.yaml:2: ignore[0]: merge keys (<<) are not supported`},
		{"top level is a list", "- IH1001\n",
			`p.yaml:1: want a mapping with keys severity, disable, experimental, ignore, got a list`},
		{"top level is a scalar", "IH1001\n",
			`p.yaml:1: want a mapping with keys severity, disable, experimental, ignore, got "IH1001"`},
		{"unknown severity", "severity:\n  IH1001: severe\n",
			`p.yaml:2: severity: IH1001: unknown severity "severe" (want info, low, medium, high or critical; use disable to turn a rule off)`},
		{"severity none", "severity: {IH1001: none}\n",
			`p.yaml:1: severity: IH1001: unknown severity "none" (want info, low, medium, high or critical; use disable to turn a rule off)`},
		{"severity as list", "severity: [IH1001]\n",
			`p.yaml:1: severity: want a mapping of rule ID or slug to severity, got a list`},
		{"severity value is a list", "severity: {IH1001: [low]}\n",
			`p.yaml:1: severity: IH1001: want a severity name, got a list`},
		{"severity named twice", "severity: {IH1001: low, ih1001: high}\n",
			`p.yaml:1: severity: ih1001 repeats the entry on line 1`},
		{"disable as scalar", "disable: IH1001\n",
			`p.yaml:1: disable: want a list of rule IDs or slugs, got "IH1001"`},
		{"disable listed twice", "disable:\n  - IH1001\n  - IH1001\n",
			`p.yaml:3: disable: IH1001 is already listed on line 2`},
		{"short rule ID", "disable: [IH100]\n",
			`p.yaml:1: disable: bad rule ID "IH100" (want IH and four digits, like IH1001)`},
		{"long rule ID", "experimental: [IH10010]\n",
			`p.yaml:1: experimental: bad rule ID "IH10010" (want IH and four digits, like IH1001)`},
		{"not a rule name", "disable: [\"set uid\"]\n",
			`p.yaml:1: disable: "set uid" is neither a rule ID (IH1001) nor a slug (setuid-binary)`},
		{"null in list", "disable: [~]\n",
			`p.yaml:1: disable: want a rule ID or slug, got nothing`},
		{"ignore not a list", "ignore: {id: IH1001}\n",
			`p.yaml:1: ignore: want a list of entries, got a mapping`},
		{"ignore entry not a mapping", "ignore: [IH1001]\n",
			`p.yaml:1: ignore[0]: want a mapping with keys id, paths, image, reason, expires, got "IH1001"`},
		{"ignore without reason", "ignore:\n  - id: IH1001\n    paths: [/a]\n",
			`p.yaml:2: ignore[0]: reason is required: say why IH1001 is acceptable here`},
		{"ignore with empty reason", "ignore:\n  - id: IH1001\n    reason: \"  \"\n",
			`p.yaml:3: ignore[0]: reason: want a non-empty explanation`},
		{"ignore without id", "ignore:\n  - reason: because\n",
			`p.yaml:2: ignore[0]: id is required (the rule ID or slug to ignore)`},
		{"ignore with bad id", "ignore:\n  - id: IH1\n    reason: x\n",
			`p.yaml:2: ignore[0].id: bad rule ID "IH1" (want IH and four digits, like IH1001)`},
		{"second entry is wrong", "ignore:\n  - id: IH1001\n    reason: x\n  - id: IH1002\n",
			`p.yaml:4: ignore[1]: reason is required: say why IH1002 is acceptable here`},
		{"impossible date", "ignore:\n  - id: IH1001\n    reason: x\n    expires: 2027-02-30\n",
			`p.yaml:4: ignore[0]: expires: "2027-02-30" is not a valid date`},
		{"not a date", "ignore:\n  - id: IH1001\n    reason: x\n    expires: next week\n",
			`p.yaml:4: ignore[0]: expires: want a date like 2027-01-31, got "next week"`},
		{"date with time", "ignore:\n  - id: IH1001\n    reason: x\n    expires: 2027-01-31T10:00:00Z\n",
			`p.yaml:4: ignore[0]: expires: want a date like 2027-01-31, got "2027-01-31T10:00:00Z"`},
		{"day first", "ignore:\n  - id: IH1001\n    reason: x\n    expires: 31-01-2027\n",
			`p.yaml:4: ignore[0]: expires: want a date like 2027-01-31, got "31-01-2027"`},
		{"paths as scalar", "ignore:\n  - id: IH1001\n    reason: x\n    paths: /usr/bin/su\n",
			`p.yaml:4: ignore[0]: paths: want a list of path globs, got "/usr/bin/su"`},
		{"empty paths", "ignore:\n  - id: IH1001\n    reason: x\n    paths: []\n",
			`p.yaml:4: ignore[0]: paths: the list is empty; leave paths out to match every location`},
		{"bad glob", "ignore:\n  - id: IH1001\n    reason: x\n    paths: [\"/usr/[bin\"]\n",
			`p.yaml:4: ignore[0]: paths: "/usr/[bin": malformed pattern (unclosed [ or trailing \)`},
		{"partial double star", "ignore:\n  - id: IH1001\n    reason: x\n    paths: [\"/usr/**lib\"]\n",
			`p.yaml:4: ignore[0]: paths: "/usr/**lib": "**" must be a whole path segment, as in /usr/lib/**`},
		{"empty glob", "ignore:\n  - id: IH1001\n    reason: x\n    paths: [\"\"]\n",
			`p.yaml:4: ignore[0]: paths: "": empty pattern`},
		{"empty image", "ignore:\n  - id: IH1001\n    reason: x\n    image: \"\"\n",
			`p.yaml:4: ignore[0]: image: want a non-empty image reference glob`},
		{"syntax error", "disable: [IH1001\n",
			`p.yaml:1: invalid YAML: did not find expected ',' or ']'`},
		{"tab indentation", "ignore:\n\t- id: IH1001\n",
			`p.yaml:2: invalid YAML: found character that cannot start any token`},
		{"two documents", "disable: [IH1001]\n---\ndisable: [IH1002]\n",
			`p.yaml:2: a policy file holds one YAML document; found another`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.in), "p.yaml")
			if err == nil {
				t.Fatalf("no error; parsed %+v", c)
			}
			if err.Error() != tc.want {
				t.Errorf("error\n got %s\nwant %s", err, tc.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Errorf("error is a %T, want *ParseError", err)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte(example), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("disable: [IH1001]\nfoo: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, wantErr string
	}{
		{"good", good, ""},
		{"bad names file and line", bad, bad + `:2: unknown key "foo" (want severity, disable, experimental, ignore)`},
		{"missing", filepath.Join(dir, "nope.yaml"), "reading policy: open " + filepath.Join(dir, "nope.yaml") + ": no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(tc.path)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.Source != tc.path || len(c.Ignore) != 2 {
					t.Errorf("loaded %+v", c)
				}
				return
			}
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("error = %v, want %s", err, tc.wantErr)
			}
		})
	}
}

func TestIgnoreExpired(t *testing.T) {
	ig := Ignore{Expires: date("2027-01-31")}
	for _, tc := range []struct {
		now  string
		want bool
	}{
		{"2027-01-30T23:59:59Z", false},
		{"2027-01-31T00:00:00Z", false},
		{"2027-01-31T23:59:59Z", false},
		{"2027-02-01T00:00:00Z", true},
		{"2027-02-01T01:00:00+02:00", false}, // 2027-01-31T23:00 UTC
		{"2030-01-01T00:00:00Z", true},
	} {
		t.Run(tc.now, func(t *testing.T) {
			now, _ := time.Parse(time.RFC3339, tc.now)
			if got := ig.Expired(now); got != tc.want {
				t.Errorf("Expired(%s) = %v, want %v", tc.now, got, tc.want)
			}
		})
	}
	if (Ignore{}).Expired(time.Now()) {
		t.Error("an entry without expires expired")
	}
}

func TestParseErrorFormat(t *testing.T) {
	for _, tc := range []struct {
		e    ParseError
		want string
	}{
		{ParseError{"a.yaml", 3, "x"}, "a.yaml:3: x"},
		{ParseError{"a.yaml", 0, "x"}, "a.yaml: x"},
		{ParseError{"", 2, "x"}, "policy:2: x"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.e, got, tc.want)
		}
	}
	if strings.Contains(example, "\t") {
		t.Fatal("example must not contain tabs")
	}
}

// TestPolicyDoc keeps docs/policy.md honest: its example parses to the documented config, and
// the error it quotes is the one Parse gives.
func TestPolicyDoc(t *testing.T) {
	b, err := os.ReadFile("../../docs/policy.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	_, after, ok := strings.Cut(doc, "```yaml\n")
	if !ok {
		t.Fatal("no yaml block")
	}
	block, _, _ := strings.Cut(after, "```")
	c, err := Parse([]byte(block), ".imgharden.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Severity) != 2 || len(c.Disable) != 1 || len(c.Experimental) != 1 || len(c.Ignore) != 1 ||
		c.Ignore[0].Expires != date("2027-01-31") || len(c.Ignore[0].Paths) != 2 {
		t.Errorf("documented example parsed to %+v", c)
	}
	_, err = Parse([]byte("ignore:\n  - id: IH1001\n    reson: typo\n"), ".imgharden.yaml")
	if err == nil {
		t.Fatal("no error")
	}
	if !strings.Contains(doc, "`"+err.Error()+"`") {
		t.Errorf("docs/policy.md does not quote the real error %q", err)
	}
}
