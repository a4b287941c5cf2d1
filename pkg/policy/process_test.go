package policy

import (
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/imgharden/imgharden/pkg/finding"
)

var (
	rSetuid = &finding.Rule{ID: "IH1001", Slug: "setuid-binary", Title: "setuid", Severity: finding.SeverityHigh, Category: finding.CategoryImageFS}
	rShell  = &finding.Rule{ID: "IH1003", Slug: "shell-binary", Title: "shell", Severity: finding.SeverityMedium, Category: finding.CategoryImageFS}
	rNet    = &finding.Rule{ID: "IH1002", Slug: "network-tool", Title: "net", Severity: finding.SeverityMedium, Category: finding.CategoryImageFS}
	rExp    = &finding.Rule{ID: "IH1007", Slug: "new-thing", Title: "experimental", Severity: finding.SeverityLow, Category: finding.CategoryImageFS, Experimental: true}
	rRoot   = &finding.Rule{ID: "IH2001", Slug: "root-user", Title: "root", Severity: finding.SeverityMedium, Category: finding.CategoryConfig}
	rEnv    = &finding.Rule{ID: "IH2002", Slug: "env-secret", Title: "env", Severity: finding.SeverityCritical, Category: finding.CategoryConfig}
)

func testCatalog(t *testing.T) *finding.Catalog {
	t.Helper()
	c, err := finding.NewCatalog(rSetuid, rNet, rShell, rExp, rRoot, rEnv)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fileAt(r *finding.Rule, path string, layer int) finding.Finding {
	return finding.New(r, finding.Location{Path: path, LayerIndex: layer}, r.Slug+" at "+path, "")
}

// brief renders findings as "ID path severity" for compact comparisons.
func brief(fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		where := f.Location.Path
		if where == "" {
			where = "config"
		}
		out = append(out, fmt.Sprintf("%s %s@%d %s", f.RuleID, where, f.Location.LayerIndex, f.Severity))
	}
	return out
}

func mustParse(t *testing.T, s string) *Config {
	t.Helper()
	c, err := Parse([]byte(s), ".imgharden.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestProcess(t *testing.T) {
	now := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	in := []finding.Finding{
		fileAt(rShell, "/bin/sh", 0),
		fileAt(rSetuid, "/usr/lib/dbus/helper", 1),
		fileAt(rSetuid, "/usr/bin/passwd", 0),
		finding.New(rRoot, finding.ConfigLocation(), "root", ""),
		fileAt(rExp, "/opt/thing", 0),
		finding.New(rEnv, finding.Location{Env: "TOKEN", LayerIndex: -1}, "token", "ab****cd"),
		fileAt(rSetuid, "/usr/bin/passwd", 0), // exact duplicate
		fileAt(rSetuid, "/usr/bin/passwd", 2), // same file again in a later layer: kept
	}
	defaults := []string{
		"IH2002 config@-1 critical",
		"IH1001 /usr/bin/passwd@0 high",
		"IH1001 /usr/bin/passwd@2 high",
		"IH1001 /usr/lib/dbus/helper@1 high",
		"IH1003 /bin/sh@0 medium",
		"IH2001 config@-1 medium",
	}
	for _, tc := range []struct {
		name           string
		config         string // "" = nil config
		opts           Options
		want           []string
		wantSuppressed int
		wantWarnings   []string
	}{
		{name: "nil config: experimental dropped, dedupe, sort", want: defaults},
		{name: "no catalog: experimental kept", opts: Options{Catalog: nil}, config: "{}",
			want: append(append([]string{}, defaults[:5]...), "IH2001 config@-1 medium", "IH1007 /opt/thing@0 low")},
		{name: "experimental enabled", config: "experimental: [IH1007]",
			want: append(append([]string{}, defaults...), "IH1007 /opt/thing@0 low")},
		{name: "experimental enabled by slug", config: "experimental: [new-thing]",
			want: append(append([]string{}, defaults...), "IH1007 /opt/thing@0 low")},
		{name: "experimental entry for a stable rule warns", config: "experimental: [IH1003]", want: defaults,
			wantWarnings: []string{".imgharden.yaml:1: experimental: IH1003 is not an experimental rule; it runs anyway, so the entry can go"}},
		{name: "disable by ID", config: "disable: [IH1001]", wantSuppressed: 4,
			want: []string{"IH2002 config@-1 critical", "IH1003 /bin/sh@0 medium", "IH2001 config@-1 medium"}},
		{name: "disable by slug", config: "disable: [root-user, ENV-SECRET]", wantSuppressed: 2,
			want: []string{defaults[1], defaults[2], defaults[3], defaults[4]}},
		{name: "ignore one path", config: "ignore:\n  - id: IH1001\n    paths: [/usr/bin/passwd]\n    reason: r\n",
			wantSuppressed: 3, // both layers and the duplicate
			want:           []string{defaults[0], defaults[3], defaults[4], defaults[5]}},
		{name: "ignore with ** glob", config: "ignore:\n  - id: setuid-binary\n    paths: [\"/usr/lib/**\"]\n    reason: r\n",
			wantSuppressed: 1, want: []string{defaults[0], defaults[1], defaults[2], defaults[4], defaults[5]}},
		{name: "ignore path that matches nothing", config: "ignore:\n  - id: IH1001\n    paths: [/usr/sbin/*]\n    reason: r\n",
			want: defaults},
		{name: "ignore path of another rule", config: "ignore:\n  - id: IH1003\n    paths: [/usr/bin/passwd]\n    reason: r\n",
			want: defaults},
		{name: "path globs never match config findings", config: "ignore:\n  - id: IH2002\n    paths: [\"**\"]\n    reason: r\n",
			want: defaults},
		{name: "ignore without paths covers every location", config: "ignore:\n  - id: IH2002\n    reason: r\n",
			wantSuppressed: 1, want: defaults[1:]},
		{name: "ignore for a matching image", opts: Options{ImageRef: "registry.example.com/app:1.0"},
			config:         "ignore:\n  - id: IH1003\n    image: \"registry.example.com/app*\"\n    reason: r\n",
			wantSuppressed: 1, want: []string{defaults[0], defaults[1], defaults[2], defaults[3], defaults[5]}},
		{name: "ignore for another image", opts: Options{ImageRef: "registry.example.com/other:1.0"},
			config: "ignore:\n  - id: IH1003\n    image: \"registry.example.com/app*\"\n    reason: r\n", want: defaults},
		{name: "ignore with image and no ref given", opts: Options{ImageRef: ""},
			config: "ignore:\n  - id: IH1003\n    image: \"*app*\"\n    reason: r\n", want: defaults},
		{name: "ignore expiring today still applies", opts: Options{Now: time.Date(2027, 3, 1, 23, 59, 0, 0, time.UTC)},
			config:         "ignore:\n  - id: IH1003\n    reason: r\n    expires: 2027-03-01\n",
			wantSuppressed: 1, want: []string{defaults[0], defaults[1], defaults[2], defaults[3], defaults[5]}},
		{name: "expired ignore stops applying and warns",
			config:       "disable: []\nignore:\n  - id: IH1003\n    paths: [/bin/sh]\n    reason: shells are fine\n    expires: 2027-02-28\n",
			want:         defaults,
			wantWarnings: []string{".imgharden.yaml:3: ignore[0] (IH1003 /bin/sh) expired on 2027-02-28 and no longer applies: shells are fine"}},
		{name: "expired ignore for another image still warns", opts: Options{ImageRef: "b"},
			config: "ignore:\n  - id: IH1003\n    image: a\n    reason: r\n    expires: 2020-01-01\n", want: defaults,
			wantWarnings: []string{".imgharden.yaml:2: ignore[0] (IH1003 in a) expired on 2020-01-01 and no longer applies: r"}},
		{name: "severity override by ID and slug", config: "severity: {IH1003: critical, root-user: info}",
			want: []string{"IH1003 /bin/sh@0 critical", defaults[0], defaults[1], defaults[2], defaults[3], "IH2001 config@-1 info"}},
		{name: "override does not revive a suppressed finding", config: "severity: {IH1003: critical}\ndisable: [IH1003]",
			wantSuppressed: 1, want: []string{defaults[0], defaults[1], defaults[2], defaults[3], defaults[5]}},
		{name: "override on a disabled experimental rule changes nothing", config: "severity: {IH1007: critical}",
			want: defaults},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c *Config
			if tc.config != "" {
				c = mustParse(t, tc.config)
			}
			opts := tc.opts
			if opts.Now.IsZero() {
				opts.Now = now
			}
			if !strings.HasPrefix(tc.name, "no catalog") {
				opts.Catalog = testCatalog(t)
			}
			before := fmt.Sprint(in)
			res := c.Process(in, opts)
			if diff := cmp.Diff(tc.want, brief(res.Findings)); diff != "" {
				t.Errorf("findings (-want +got)\n%s", diff)
			}
			if res.Suppressed != tc.wantSuppressed {
				t.Errorf("suppressed = %d, want %d", res.Suppressed, tc.wantSuppressed)
			}
			if diff := cmp.Diff(tc.wantWarnings, res.Warnings); diff != "" {
				t.Errorf("warnings (-want +got)\n%s", diff)
			}
			if fmt.Sprint(in) != before {
				t.Error("Process modified its input")
			}
		})
	}
}

func TestProcessSortsWithLess(t *testing.T) {
	in := []finding.Finding{
		fileAt(rShell, "/b", 1), fileAt(rShell, "/a", 2), fileAt(rShell, "/a", 0),
		finding.New(rRoot, finding.ConfigLocation(), "root", ""), fileAt(rSetuid, "/z", 0),
	}
	res := (*Config)(nil).Process(in, Options{})
	for i := 1; i < len(res.Findings); i++ {
		if finding.Less(res.Findings[i], res.Findings[i-1]) {
			t.Fatalf("not sorted: %v", brief(res.Findings))
		}
	}
	if got := (*Config)(nil).Process(nil, Options{}).Findings; got == nil {
		t.Error("Findings is nil for no input; writers print [] for an empty slice")
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name, config, want string
	}{
		{"all known", example, ""},
		{"unknown in severity", "severity: {IH9999: low}", `.imgharden.yaml:1: severity: unknown rule "IH9999" (run 'imgharden rules' for the list)`},
		{"unknown slug in disable", "disable:\n  - no-such-rule", `.imgharden.yaml:2: disable: unknown rule "no-such-rule" (run 'imgharden rules' for the list)`},
		{"unknown in experimental", "experimental: [IH1999]", `.imgharden.yaml:1: experimental: unknown rule "IH1999" (run 'imgharden rules' for the list)`},
		{"unknown in ignore", "ignore:\n  - id: IH1001\n    reason: a\n  - id: IH3333\n    reason: b", `.imgharden.yaml:4: ignore[1].id: unknown rule "IH3333" (run 'imgharden rules' for the list)`},
		{"same rule by ID and slug", "severity:\n  IH1003: low\n  shell-binary: high", `.imgharden.yaml:3: severity: shell-binary names rule IH1003 again (already named as IH1003 on line 2)`},
		{"disabled twice", "disable: [root-user, IH2001]", `.imgharden.yaml:1: disable: IH2001 names rule IH2001 again (already named as root-user on line 1)`},
		{"disabled and experimental", "disable: [IH1007]\nexperimental: [new-thing]", `.imgharden.yaml:2: experimental: new-thing is also disabled (as IH1007 on line 1); keep one`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cat, err := finding.NewCatalog(rSetuid, rNet, rShell, rExp, rRoot, rEnv)
			if err != nil {
				t.Fatal(err)
			}
			err = mustParse(t, tc.config).Validate(cat)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || err.Error() != tc.want {
				t.Errorf("error\n got %v\nwant %s", err, tc.want)
			}
		})
	}
	if err := (*Config)(nil).Validate(testCatalog(t)); err != nil {
		t.Errorf("nil config: %v", err)
	}
	if err := (&Config{}).Validate(nil); err == nil {
		t.Error("no error without a catalog")
	}
}

func TestDedupeKey(t *testing.T) {
	base := finding.New(rSetuid, finding.Location{Path: "/a", LayerIndex: 1, LayerDigest: "sha256:1"}, "m", "e")
	base.Details = map[string]string{"new": "true", "b": "c"}
	same := base
	same.Details = map[string]string{"b": "c", "new": "true"}
	if dedupeKey(base) != dedupeKey(same) {
		t.Error("equal findings have different keys")
	}
	for name, mutate := range map[string]func(f *finding.Finding){
		"rule":     func(f *finding.Finding) { f.RuleID = "IH1002" },
		"severity": func(f *finding.Finding) { f.Severity = finding.SeverityLow },
		"message":  func(f *finding.Finding) { f.Message = "m2" },
		"evidence": func(f *finding.Finding) { f.Evidence = "" },
		"path":     func(f *finding.Finding) { f.Location.Path = "/b" },
		"line":     func(f *finding.Finding) { f.Location.Line = 2 },
		"env":      func(f *finding.Finding) { f.Location.Env = "X" },
		"label":    func(f *finding.Finding) { f.Location.Label = "X" },
		"layer":    func(f *finding.Finding) { f.Location.LayerIndex = 2 },
		"digest":   func(f *finding.Finding) { f.Location.LayerDigest = "sha256:2" },
		"diffID":   func(f *finding.Finding) { f.Location.DiffID = "sha256:3" },
		"created":  func(f *finding.Finding) { f.Location.CreatedBy = "RUN x" },
		"removed":  func(f *finding.Finding) { f.Location.Removed = true },
		"details":  func(f *finding.Finding) { f.Details = map[string]string{"new": "false", "b": "c"} },
		"shifted":  func(f *finding.Finding) { f.Message, f.Evidence = "m\x00e", "" },
	} {
		t.Run(name, func(t *testing.T) {
			g := base
			g.Details = maps.Clone(base.Details)
			mutate(&g)
			if dedupeKey(g) == dedupeKey(base) {
				t.Error("different findings share a key")
			}
		})
	}
}

func TestGate(t *testing.T) {
	fs := func(sevs ...finding.Severity) []finding.Finding {
		var out []finding.Finding
		for _, s := range sevs {
			out = append(out, finding.Finding{RuleID: "IH1001", Severity: s})
		}
		return out
	}
	i, l, m, h, c, none := finding.SeverityInfo, finding.SeverityLow, finding.SeverityMedium, finding.SeverityHigh, finding.SeverityCritical, finding.SeverityNone
	for _, tc := range []struct {
		name   string
		fs     []finding.Finding
		failOn finding.Severity
		want   bool
	}{
		{"no findings", nil, i, false},
		{"below the gate", fs(i, l, m), h, false},
		{"at the gate", fs(l, h), h, true},
		{"above the gate", fs(c), h, true},
		{"info gate fails on info", fs(i), i, true},
		{"critical gate ignores high", fs(h, h), c, false},
		{"none never fails", fs(c, c), none, false},
		{"zero value fails on anything", fs(i), 0, true},
		{"zero value passes with nothing", nil, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Gate(tc.fs, tc.failOn); got != tc.want {
				t.Errorf("Gate(%v, %s) = %v, want %v", brief(tc.fs), tc.failOn, got, tc.want)
			}
		})
	}
}

// matchPath matches one glob against one finding path, as Process does.
func matchPath(pat, p string) bool {
	return p != "" && matchSegs(splitGlob(pat), pathSegs(p))
}

func TestMatchPath(t *testing.T) {
	for _, tc := range []struct {
		pat, path string
		want      bool
	}{
		{"/usr/bin/passwd", "/usr/bin/passwd", true},
		{"usr/bin/passwd", "/usr/bin/passwd", true},
		{"/usr/bin/passwd", "/usr/bin/passwd2", false},
		{"/usr/bin/*", "/usr/bin/su", true},
		{"/usr/bin/*", "/usr/bin/x/su", false},
		{"/usr/bin/s?", "/usr/bin/su", true},
		{"/usr/bin/[st]u", "/usr/bin/tu", true},
		{"/usr/lib/**", "/usr/lib", true},
		{"/usr/lib/**", "/usr/lib/a/b/c.so", true},
		{"/usr/lib/**", "/usr/libexec/x", false},
		{"/usr/**/*.so", "/usr/x.so", true},
		{"/usr/**/*.so", "/usr/lib/x86_64/x.so", true},
		{"/usr/**/*.so", "/usr/lib/x.sox", false},
		{"**/.git/**", "/app/.git/config", true},
		{"**/.git/**", "/.git", true},
		{"**", "/anything/at/all", true},
		{"/a/**/b/**/c", "/a/x/b/y/z/c", true},
		{"/a/**/b/**/c", "/a/x/y/c", false},
		{"Dockerfile", "Dockerfile", true},
		{"Dockerfile", "build/Dockerfile", false},
		{"**/Dockerfile", "build/Dockerfile", true},
		{"/etc/*", "/etc//passwd", true},
		{"/etc/passwd", "", false},
		{"**", "", false},
	} {
		t.Run(tc.pat+" "+tc.path, func(t *testing.T) {
			if err := checkPathGlob(tc.pat); err != nil {
				t.Fatalf("checkPathGlob(%q): %v", tc.pat, err)
			}
			if got := matchPath(tc.pat, tc.path); got != tc.want {
				t.Errorf("matchPath(%q, %q) = %v, want %v", tc.pat, tc.path, got, tc.want)
			}
		})
	}
}

func TestImageGlob(t *testing.T) {
	for _, tc := range []struct {
		pat, ref string
		want     bool
	}{
		{"registry.example.com/app*", "registry.example.com/app:1.0", true},
		{"registry.example.com/app*", "registry.example.com/app/sub@sha256:abc", true},
		{"registry.example.com/app*", "registry.example.com/other", false},
		{"registry.example.com/app*", "evil.com/registry.example.com/app", false},
		{"*/app:?.0", "r.io/app:1.0", true},
		{"*/app:?.0", "r.io/app:10.0", false},
		{"alpine", "alpine", true},
		{"alpine", "alpine:3.20", false},
		{"a.b", "axb", false}, // "." is literal
		{"a[1]", "a[1]", true},
	} {
		t.Run(tc.pat+" "+tc.ref, func(t *testing.T) {
			if got := imageGlob(tc.pat).MatchString(tc.ref); got != tc.want {
				t.Errorf("imageGlob(%q) on %q = %v, want %v", tc.pat, tc.ref, got, tc.want)
			}
		})
	}
}
