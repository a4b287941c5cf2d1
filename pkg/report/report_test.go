package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/imgharden/imgharden/pkg/finding"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const (
	layer0 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	diff0  = "sha256:a111111111111111111111111111111111111111111111111111111111111111"
	layer1 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	diff1  = "sha256:a222222222222222222222222222222222222222222222222222222222222222"
	layer2 = "sha256:3333333333333333333333333333333333333333333333333333333333333333"
	diff2  = "sha256:a333333333333333333333333333333333333333333333333333333333333333"
)

var (
	ruleSetuid = &finding.Rule{ID: "IH1001", Slug: "setuid-binary", Title: "File has the setuid or setgid bit",
		Severity: finding.SeverityHigh, Category: finding.CategoryImageFS, Refs: []string{"ecs:R4"},
		Description: "A setuid or setgid executable runs with its owner's privileges whoever starts it.",
		Remediation: `RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} \; || true`}
	ruleRoot = &finding.Rule{ID: "IH2001", Slug: "root-user", Title: "Image runs as root",
		Severity: finding.SeverityMedium, Category: finding.CategoryConfig, Refs: []string{"ecs:R8", "cis-docker:4.1"},
		Description: "The config has no non-root USER.", Remediation: "Add USER 10001 to the Dockerfile."}
	ruleEnvSecret = &finding.Rule{ID: "IH2003", Slug: "env-secret", Title: "Secret in an ENV variable",
		Severity: finding.SeverityCritical, Category: finding.CategoryConfig, Refs: []string{"ecs:R17"},
		Description: "An ENV value looks like a credential.", Remediation: "Pass secrets at run time."}
	ruleAWSKey = &finding.Rule{ID: "IH4001", Slug: "aws-access-key", Title: "AWS access key in a file",
		Severity: finding.SeverityCritical, Category: finding.CategorySecret, Refs: []string{"ecs:R17"},
		Description: "A file contains an AWS access key ID.", Remediation: "Rotate the key and use build secrets."}
	ruleHealth = &finding.Rule{ID: "IH2005", Slug: "no-healthcheck", Title: "No HEALTHCHECK",
		Severity: finding.SeverityInfo, Category: finding.CategoryConfig, Experimental: true,
		Description: "The image defines no HEALTHCHECK.", Remediation: "Add a HEALTHCHECK instruction."}
	ruleLatest = &finding.Rule{ID: "IH3002", Slug: "unpinned-from", Title: "FROM is not pinned by digest",
		Severity: finding.SeverityLow, Category: finding.CategoryDocker,
		Description: "FROM names a tag, which can move.", Remediation: "FROM image@sha256:..."}
	ruleLabel = &finding.Rule{ID: "IH2004", Slug: "label-secret", Title: "Secret in a label",
		Severity: finding.SeverityHigh, Category: finding.CategoryConfig,
		Description: "A label value looks like a credential.", Remediation: "Remove the label."}
)

func catalogRules() []*finding.Rule {
	return []*finding.Rule{ruleSetuid, ruleRoot, ruleEnvSecret, ruleAWSKey, ruleHealth, ruleLatest, ruleLabel}
}

func at(path string, layer int, digest, diffID, createdBy string, removed bool) finding.Location {
	return finding.Location{Path: path, LayerIndex: layer, LayerDigest: digest, DiffID: diffID,
		CreatedBy: createdBy, Removed: removed}
}

// sampleReport has one finding of every kind a writer must place: image files (one removed in
// a later layer), ENV, label, the bare config, a Dockerfile line, and a rule missing from the
// catalog. It is sorted like policy sorts.
func sampleReport() *Report {
	fs := []finding.Finding{
		finding.New(ruleEnvSecret, finding.Location{Env: "AWS_SECRET_ACCESS_KEY", LayerIndex: 2,
			LayerDigest: layer2, DiffID: diff2, CreatedBy: "/bin/sh -c #(nop)  ENV AWS_SECRET_ACCESS_KEY=wJal…"},
			"AWS_SECRET_ACCESS_KEY holds an AWS secret access key", "wJal********************************EKEY"),
		finding.New(ruleAWSKey, at("/app/.aws/credentials", 1, layer1, diff1,
			"COPY . /app # buildkit", true), "AWS access key ID", "AKIA************MPLE"),
		finding.New(ruleSetuid, at("/usr/bin/passwd", 0, layer0, diff0, "ADD rootfs.tar / # buildkit", false),
			"/usr/bin/passwd can run with its owner's privileges", "mode=04755 uid=0"),
		finding.New(ruleLabel, finding.Location{Label: "org.example.token", LayerIndex: -1},
			"label org.example.token holds a GitHub token", "ghp_****************************abcd"),
		finding.New(ruleRoot, finding.ConfigLocation(), "the image runs as root (User is empty)", ""),
		{RuleID: "IH5001", Slug: "mutable-tag", Title: "Repository allows tag overwrites",
			Severity: finding.SeverityMedium, Message: "tags in this repository are mutable",
			Location: finding.ConfigLocation()},
		finding.New(ruleLatest, finding.Location{Path: "Dockerfile", Line: 3, LayerIndex: -1},
			"FROM alpine:3.20 is not pinned by digest", ""),
		finding.New(ruleHealth, finding.ConfigLocation(), "no HEALTHCHECK", ""),
	}
	fs[2].Details = map[string]string{"new": "true"}
	return &Report{
		Tool: Tool{Name: "imgharden", Version: "v1.2.3", InformationURI: "https://github.com/imgharden/imgharden"},
		Image: Image{Ref: "registry.example.com/app:1.0", Digest: "sha256:" + strings.Repeat("d", 64),
			ID: "sha256:" + strings.Repeat("c", 64), Platform: "linux/amd64", User: ""},
		Layers: []Layer{
			{Index: 0, Digest: layer0, DiffID: diff0, CreatedBy: "ADD rootfs.tar / # buildkit"},
			{Index: 1, Digest: layer1, DiffID: diff1, CreatedBy: "COPY . /app # buildkit"},
			{Index: 2, Digest: layer2, DiffID: diff2, CreatedBy: "ENV AWS_SECRET_ACCESS_KEY=wJal…"},
		},
		Findings:   fs,
		Suppressed: 2,
		Rules:      catalogRules(),
	}
}

func emptyReport() *Report {
	return &Report{Tool: Tool{Name: "imgharden"}, Image: Image{Ref: "alpine:3.20"}, Rules: catalogRules()}
}

func write(t *testing.T, format string, r *Report, opts ...Option) []byte {
	t.Helper()
	w, err := NewWriter(format, opts...)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := w.Write(&buf, r); err != nil {
		t.Fatalf("%s: %v", format, err)
	}
	return buf.Bytes()
}

func assertGolden(t *testing.T, got []byte, file string) {
	t.Helper()
	p := filepath.Join("testdata", file)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got); run go test -update if the change is intended:\n%s", p, diff)
	}
}

func TestGolden(t *testing.T) {
	ext := map[string]string{"text": "txt", "json": "json", "sarif": "sarif"}
	for _, tc := range []struct {
		name   string
		report *Report
		opts   []Option
	}{
		{"sample", sampleReport(), nil},
		{"empty", emptyReport(), nil},
		{"color", sampleReport(), []Option{WithColor(true)}},
	} {
		for _, format := range Formats() {
			if tc.name == "color" && format != "text" {
				continue
			}
			t.Run(tc.name+"/"+format, func(t *testing.T) {
				got := write(t, format, tc.report, tc.opts...)
				assertGolden(t, got, tc.name+".golden."+ext[format])
			})
		}
	}
}

func TestNewWriter(t *testing.T) {
	for _, tc := range []struct {
		format  string
		wantErr string
	}{
		{"text", ""},
		{"json", ""},
		{"sarif", ""},
		{"JSON", `unknown report format "JSON" (want text, json, sarif)`},
		{"xml", `unknown report format "xml" (want text, json, sarif)`},
		{"", `unknown report format "" (want text, json, sarif)`},
	} {
		t.Run(tc.format, func(t *testing.T) {
			w, err := NewWriter(tc.format)
			if tc.wantErr == "" {
				if err != nil || w == nil {
					t.Fatalf("NewWriter(%q) = %v, %v", tc.format, w, err)
				}
				return
			}
			if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("NewWriter(%q) error = %v, want %q", tc.format, err, tc.wantErr)
			}
		})
	}
}

func TestBadReports(t *testing.T) {
	bad := sampleReport()
	bad.Findings[1].Severity = 42
	none := sampleReport()
	none.Findings[0].Severity = finding.SeverityNone
	for _, format := range Formats() {
		for _, tc := range []struct {
			name    string
			r       *Report
			wantErr string
		}{
			{"nil", nil, "no report to write"},
			{"invalid severity", bad, "finding 1 (IH4001): invalid severity Severity(42)"},
			{"gate-only severity", none, "finding 0 (IH2003): invalid severity none"},
		} {
			t.Run(format+"/"+tc.name, func(t *testing.T) {
				w, _ := NewWriter(format)
				var buf bytes.Buffer
				err := w.Write(&buf, tc.r)
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				if buf.Len() != 0 {
					t.Errorf("wrote %q on error", buf.String())
				}
			})
		}
	}
}

// TestEvidenceNeverGrows is a defence in depth: whatever a check puts in Evidence, no writer
// prints more of it than it was given, nor more than MaxEvidence runes.
func TestEvidenceNeverGrows(t *testing.T) {
	long := strings.Repeat("x", 5000) + "TAIL-OF-A-FILE-BODY"
	for _, tc := range []struct {
		name     string
		evidence string
		want     string
	}{
		{"short", "AKIA************MPLE", "AKIA************MPLE"},
		{"at the limit", strings.Repeat("y", MaxEvidence), strings.Repeat("y", MaxEvidence)},
		{"one over", strings.Repeat("z", MaxEvidence+1), strings.Repeat("z", MaxEvidence-3) + "..."},
		{"a whole file", long, strings.Repeat("x", MaxEvidence-3) + "..."},
		{"multibyte", strings.Repeat("é", MaxEvidence+10), strings.Repeat("é", MaxEvidence-3) + "..."},
	} {
		r := &Report{Findings: []finding.Finding{finding.New(ruleAWSKey,
			at("/app/key", 0, layer0, diff0, "", false), "AWS access key ID", tc.evidence)}}
		for _, format := range Formats() {
			t.Run(tc.name+"/"+format, func(t *testing.T) {
				out := write(t, format, r)
				var printed string
				switch format {
				case "json":
					var doc jsonReport
					if err := json.Unmarshal(out, &doc); err != nil {
						t.Fatal(err)
					}
					printed = doc.Findings[0].Evidence
				case "sarif":
					var doc sarifLog
					if err := json.Unmarshal(out, &doc); err != nil {
						t.Fatal(err)
					}
					printed = doc.Runs[0].Results[0].Properties.Evidence
				case "text":
					_, after, ok := strings.Cut(string(out), "evidence: ")
					if !ok {
						t.Fatalf("no evidence in\n%s", out)
					}
					printed, _, _ = strings.Cut(after, "\n")
				}
				if printed != tc.want {
					t.Errorf("printed evidence %q, want %q", printed, tc.want)
				}
				if n, max := len([]rune(printed)), len([]rune(tc.evidence)); n > max || n > MaxEvidence {
					t.Errorf("printed %d runes of evidence, given %d, limit %d", n, max, MaxEvidence)
				}
				if strings.Contains(string(out), "TAIL-OF-A-FILE-BODY") {
					t.Error("the end of an over-long evidence string was printed")
				}
			})
		}
	}
}
