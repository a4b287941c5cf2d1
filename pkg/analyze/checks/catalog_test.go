package checks

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
)

// TestMain runs the tests, then, when every test ran (no -run, -skip or -list), fails the
// package if a rule of Default() has no passing positive test: every rule test asserts its
// findings through wantPaths or wantCount, which record the rule.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 && fullRun() {
		if missing := rulesWithoutPositive(); len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: rules without a passing positive test: %s\n", strings.Join(missing, ", "))
			code = 1
		}
	}
	os.Exit(code)
}

func fullRun() bool {
	for _, name := range []string{"test.run", "test.skip", "test.list"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return false
		}
	}
	return true
}

func rulesWithoutPositive() []string {
	var missing []string
	for _, r := range Rules() {
		if _, ok := positives.Load(r.ID); !ok {
			missing = append(missing, r.ID+" "+r.Slug)
		}
	}
	return missing
}

// repoRoot walks up from the package directory to the directory holding go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the package directory")
		}
		dir = parent
	}
}

var (
	ruleID   = regexp.MustCompile(`^IH[0-5]\d{3}$`)
	ruleSlug = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	// The headings of docs/rules/<ID>.md, in this order.
	docHeadings = []string{"## Output", "## Description", "## Bad", "## Good", "## References"}
)

func TestCatalog(t *testing.T) {
	rules := Rules()
	if len(rules) == 0 {
		t.Fatal("Default() has no rules")
	}
	// IDs and slugs must be unique, also against the engine's own rules.
	if _, err := finding.NewCatalog(append(analyze.Rules(), rules...)...); err != nil {
		t.Fatal(err)
	}
	root := repoRoot(t)
	for _, r := range rules {
		t.Run(r.ID, func(t *testing.T) {
			if !ruleID.MatchString(r.ID) {
				t.Errorf("ID %q does not match %s", r.ID, ruleID)
			}
			if want := fmt.Sprintf("IH%d", int(r.Category)); !strings.HasPrefix(r.ID, want) {
				t.Errorf("ID %s does not start with its category digit (%s, %s)", r.ID, want, r.Category)
			}
			if !ruleSlug.MatchString(r.Slug) {
				t.Errorf("slug %q is not kebab-case", r.Slug)
			}
			if r.Title == "" || strings.HasSuffix(r.Title, ".") {
				t.Errorf("title %q is empty or ends with a period", r.Title)
			}
			if _, err := r.Severity.MarshalText(); err != nil || r.Severity == finding.SeverityNone {
				t.Errorf("severity %v is not a finding severity", r.Severity)
			}
			if r.Description == "" || r.Remediation == "" {
				t.Error("description or remediation missing")
			}
			if len(r.Refs) == 0 {
				t.Error("no references")
			}
			checkDoc(t, filepath.Join(root, "docs", "rules", r.ID+".md"), r)
		})
	}
}

// checkDoc checks that the rule page exists, starts with the rule's header lines, and has
// the template headings in order.
func checkDoc(t *testing.T, p string, r *finding.Rule) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Errorf("rule page: %v", err)
		return
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	wantTitle := fmt.Sprintf("# %s %s: %s", r.ID, r.Slug, r.Title)
	wantMeta := fmt.Sprintf("Severity: %s · Category: %s · References: %s", r.Severity, r.Category, strings.Join(r.Refs, ", "))
	if len(lines) < 2 || lines[0] != wantTitle || lines[1] != wantMeta {
		t.Errorf("%s must start with\n%s\n%s", p, wantTitle, wantMeta)
	}
	next := 0
	inFence := false
	for _, l := range lines {
		if strings.HasPrefix(l, "```") {
			inFence = !inFence
			continue
		}
		if inFence || !strings.HasPrefix(l, "## ") {
			continue
		}
		if next < len(docHeadings) && l == docHeadings[next] {
			next++
			continue
		}
		t.Errorf("%s: unexpected heading %q (want %v in this order)", p, l, docHeadings)
	}
	if next != len(docHeadings) {
		t.Errorf("%s: missing heading %q (want %v in this order)", p, docHeadings[next], docHeadings)
	}
}

func TestDefaultIsFresh(t *testing.T) {
	a, b := Default(), Default()
	if len(a) != len(b) || len(a) == 0 {
		t.Fatalf("Default() lengths %d, %d", len(a), len(b))
	}
	a[0] = nil
	if b[0] == nil {
		t.Fatal("Default() returns a shared slice")
	}
	for _, c := range b {
		if _, ok := c.(analyze.ImageCheck); !ok {
			if _, ok := c.(analyze.FileCheck); !ok {
				t.Errorf("%T is neither an ImageCheck nor a FileCheck", c)
			}
		}
		if len(c.Rules()) == 0 {
			t.Errorf("%T declares no rules", c)
		}
	}
}
