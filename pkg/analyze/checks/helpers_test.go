package checks

import (
	"context"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgharden/imgharden/internal/imagetest"
	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
)

// positives records, per rule ID, a passing test that asserted findings of that rule. The
// catalog check in TestMain fails when a rule of Default() has none.
var positives sync.Map

// markPositive counts the running test as a positive test of rule if it passes.
func markPositive(t *testing.T, rule *finding.Rule) {
	t.Helper()
	t.Cleanup(func() {
		if !t.Failed() {
			positives.Store(rule.ID, t.Name())
		}
	})
}

// scan runs the checks over img and fails the test on an error or an IH0001 finding.
func scan(t *testing.T, img v1.Image, cs ...analyze.Check) []finding.Finding {
	t.Helper()
	res, err := analyze.New(analyze.WithChecks(cs...)).Run(context.Background(), img)
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	for _, f := range res.Findings {
		if f.RuleID == analyze.RuleCheckFailed.ID {
			t.Fatalf("a check failed: %s", f.Message)
		}
	}
	return res.Findings
}

// ofRule keeps the findings of rule.
func ofRule(fs []finding.Finding, rule *finding.Rule) []finding.Finding {
	var out []finding.Finding
	for _, f := range fs {
		if f.RuleID == rule.ID {
			out = append(out, f)
		}
	}
	return out
}

// wantPaths checks that rule reported exactly the paths want, in any order, and returns
// its findings sorted by path. With a non-empty want, a passing test counts as a positive
// test of the rule.
func wantPaths(t *testing.T, got []finding.Finding, rule *finding.Rule, want ...string) []finding.Finding {
	t.Helper()
	fs := ofRule(got, rule)
	sort.Slice(fs, func(i, j int) bool { return fs[i].Location.Path < fs[j].Location.Path })
	var paths []string
	for _, f := range fs {
		paths = append(paths, f.Location.Path)
	}
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(paths, want) {
		t.Errorf("%s findings at %q, want %q\n%s", rule.ID, paths, want, dump(fs))
		return fs
	}
	if len(want) > 0 {
		markPositive(t, rule)
	}
	return fs
}

// wantCount checks that rule reported n findings (for config findings, which have no path).
func wantCount(t *testing.T, got []finding.Finding, rule *finding.Rule, n int) []finding.Finding {
	t.Helper()
	fs := ofRule(got, rule)
	if len(fs) != n {
		t.Errorf("%d %s findings, want %d\n%s", len(fs), rule.ID, n, dump(fs))
		return fs
	}
	if n > 0 {
		markPositive(t, rule)
	}
	return fs
}

func dump(fs []finding.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("  " + f.String() + "\n")
	}
	return b.String()
}

// find returns the finding at path p.
func find(t *testing.T, fs []finding.Finding, p string) finding.Finding {
	t.Helper()
	for _, f := range fs {
		if f.Location.Path == p {
			return f
		}
	}
	t.Fatalf("no finding at %s", p)
	return finding.Finding{}
}

// image builds a one-layer image from files.
func image(t *testing.T, cfg v1.Config, files ...imagetest.File) v1.Image {
	t.Helper()
	return imagetest.Image(t, cfg, imagetest.Layer{CreatedBy: "ADD rootfs.tar /", Files: files})
}

// Shorthands for entries.
var (
	dir     = imagetest.Dir
	reg     = imagetest.Reg
	exe     = imagetest.Exe
	symlink = imagetest.Symlink
	hardln  = imagetest.Hardlink
)

func withMode(f imagetest.File, m fs.FileMode) imagetest.File { f.Mode = m; return f }

// scanView runs no checks and returns the merged view.
func scanView(t *testing.T, img v1.Image) *analyze.View {
	t.Helper()
	res, err := analyze.New().Run(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	return res.View
}
