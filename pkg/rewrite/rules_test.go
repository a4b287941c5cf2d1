package rewrite_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/imgharden/imgharden/pkg/finding"
	"github.com/imgharden/imgharden/pkg/rewrite"
)

func TestCatalog(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range rewrite.Rules() {
		if !regexp.MustCompile(`^IH3\d{3}$`).MatchString(r.ID) {
			t.Errorf("%s: not a Dockerfile rule ID", r.ID)
		}
		for _, k := range []string{r.ID, r.Slug} {
			if seen[k] {
				t.Errorf("duplicate key %s", k)
			}
			seen[k] = true
		}
		if r.Title == "" || r.Severity == 0 || r.Category != finding.CategoryDocker || r.Remediation == "" || r.Description == "" {
			t.Errorf("%s: incomplete rule %+v", r.ID, r)
		}
		page, err := os.ReadFile(filepath.Join("../../docs/rules", r.ID+".md"))
		if err != nil {
			t.Errorf("%s: no docs page: %v", r.ID, err)
			continue
		}
		for _, h := range []string{"# " + r.ID + " " + r.Slug, "## Output", "## Description", "## Bad", "## Good", "## References"} {
			if !strings.Contains(string(page), h) {
				t.Errorf("docs/rules/%s.md lacks %q", r.ID, h)
			}
		}
	}
	if _, err := finding.NewCatalog(rewrite.Rules()...); err != nil {
		t.Error(err)
	}
}

// TestRules has, for every rule, a Dockerfile it acts on (a change or a finding) and one it
// leaves alone.
func TestRules(t *testing.T) {
	const pinned = "FROM debian:bookworm@sha256:0000000000000000000000000000000000000000000000000000000000000001\n"
	const tail = "RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} + || true\nUSER 65532:65532\n"
	for _, tc := range []struct {
		rule      *finding.Rule
		pos, neg  string
		noPinning bool
	}{
		{rewrite.RuleRootUser, pinned + "RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} + || true\nUSER root\n", pinned + tail, false},
		{rewrite.RuleRootUser, pinned + "RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} + || true\nUSER app\n", pinned + "RUN true\nUSER 1000\n" + tail, false},
		{rewrite.RulePinBase, "FROM debian:bookworm\n" + tail, pinned + tail, false},
		{rewrite.RulePinBase, "FROM debian:bookworm\n" + tail, "FROM scratch\nUSER 65532:65532\n", true},
		{rewrite.RuleAddLocal, pinned + "ADD a.txt /a.txt\n" + tail, pinned + "ADD rootfs.tar.gz /\nADD https://example.com/x /x\nADD --checksum=sha256:0000000000000000000000000000000000000000000000000000000000000002 https://example.com/y /y\n" + tail, false},
		{rewrite.RuleAptRecommends, pinned + "RUN apt-get -y install curl\n" + tail, pinned + "RUN apt-get install -y --no-install-recommends curl\nRUN echo apt-get\n" + tail, false},
		{rewrite.RuleAptLists, pinned + "RUN apt-get update\n" + tail, pinned + "RUN apt-get update && rm -rf /var/lib/apt/lists/*\nRUN --mount=type=cache,target=/var/lib/apt apt-get update\n" + tail, false},
		{rewrite.RuleShellForm, pinned + "CMD exec app\n" + tail, pinned + "CMD [\"app\"]\n" + tail, false},
		{rewrite.RuleSingleStage, "FROM golang:1.22@sha256:0000000000000000000000000000000000000000000000000000000000000001\nRUN CGO_ENABLED=0 go build -o /app .\nENTRYPOINT [\"/app\"]\n",
			pinned + "COPY app /app\nENTRYPOINT [\"/app\"]\n" + tail, false},
		{rewrite.RuleSetuid, pinned + "USER 65532:65532\n", "FROM scratch\nUSER 65532:65532\n", false},
	} {
		t.Run(tc.rule.Slug, func(t *testing.T) {
			rw := rewrite.New(rewrite.WithDigestResolver(testResolver), rewrite.WithPinning(!tc.noPinning))
			hits := func(src string) []string {
				res, err := rw.Rewrite(t.Context(), "Dockerfile", []byte(src))
				if err != nil {
					t.Fatalf("%v\n%s", err, src)
				}
				var got []string
				for _, c := range res.Changes {
					if c.Rule == tc.rule {
						got = append(got, "change: "+c.Summary)
					}
				}
				for _, f := range res.Findings {
					if f.RuleID == tc.rule.ID {
						got = append(got, "finding: "+f.Message)
					}
				}
				return got
			}
			if got := hits(tc.pos); len(got) == 0 {
				t.Errorf("positive case not caught:\n%s", tc.pos)
			}
			if got := hits(tc.neg); len(got) > 0 {
				t.Errorf("negative case caught %q:\n%s", got, tc.neg)
			}
		})
	}
}

func TestPragmaSuppresses(t *testing.T) {
	src := "# imgharden:ignore=IH3002,final-stage-root,IH3008 pinned by the platform team\nFROM debian:bookworm\n"
	res, err := rewrite.New(rewrite.WithDigestResolver(testResolver)).Rewrite(t.Context(), "Dockerfile", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed() || len(res.Findings) > 0 {
		t.Errorf("pragma ignored: %+v %+v\n%s", res.Changes, res.Findings, res.Output)
	}
	// Without a reason the pragma does not count.
	src = "# imgharden:ignore=IH3002\nFROM debian:bookworm\n"
	if res, err = rewrite.New(rewrite.WithDigestResolver(testResolver)).Rewrite(t.Context(), "Dockerfile", []byte(src)); err != nil || !res.Changed() {
		t.Errorf("reasonless pragma suppressed the rules: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		line      int
		msg       string
	}{
		{"unknown instruction", "FROM debian\nFOO bar\n", 2, "unknown instruction: FOO"},
		{"missing argument", "FROM debian\n\nCOPY onlyone\n", 3, "COPY requires at least two arguments"},
		{"no FROM", "RUN true\n", 1, "no build stage"},
		{"empty", "# nothing\n", 0, "file with no instructions"},
		{"unterminated heredoc", "FROM debian\nRUN <<EOF\necho\n", 2, "unterminated heredoc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rewrite.New(rewrite.WithPinning(false)).Rewrite(t.Context(), "Dockerfile", []byte(tc.src))
			var pe *rewrite.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a ParseError", err)
			}
			if pe.Line != tc.line && !(tc.line == 0 && pe.Line <= 2) || !strings.Contains(pe.Msg, tc.msg) {
				t.Errorf("got line %d %q, want line %d %q", pe.Line, pe.Msg, tc.line, tc.msg)
			}
		})
	}
}

func TestLintAddedDetectsWarnings(t *testing.T) {
	before := []byte("FROM debian AS build\nCMD [\"true\"]\n")
	after := []byte("FROM debian as build\ncmd true\n")
	added, err := rewrite.LintAdded(context.Background(), "Dockerfile", before, after)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(added, "\n")
	for _, want := range []string{"FromAsCasing", "JSONArgsRecommended"} {
		if !strings.Contains(joined, want) {
			t.Errorf("LintAdded missed %s: %q", want, added)
		}
	}
	if added, err := rewrite.LintAdded(context.Background(), "Dockerfile", after, after); err != nil || len(added) > 0 {
		t.Errorf("same file adds %q (%v)", added, err)
	}
}
