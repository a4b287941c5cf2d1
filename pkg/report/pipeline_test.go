package report

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/imgharden/imgharden/internal/imagetest"
	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
	"github.com/imgharden/imgharden/pkg/policy"
)

// The parts fitted together as `imgharden scan` will: an image built in memory, the real
// engine, the policy processors, then every writer. The writers must carry the engine's layer
// facts through, keep secrets redacted and produce documents that validate.

const fullSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

var rulePipeSecret = &finding.Rule{ID: "IH4901", Slug: "test-env-file-secret", Title: "Secret in an env file",
	Severity: finding.SeverityCritical, Category: finding.CategorySecret, Description: "d", Remediation: "r"}
var rulePipeSetuid = &finding.Rule{ID: "IH1901", Slug: "test-setuid", Title: "Setuid file",
	Severity: finding.SeverityHigh, Category: finding.CategoryImageFS, Description: "d", Remediation: "r"}

type envFileCheck struct{}

func (envFileCheck) Rules() []*finding.Rule      { return []*finding.Rule{rulePipeSecret} }
func (envFileCheck) Wants(e *analyze.Entry) bool { return e.IsRegular() && e.Base() == ".env" }
func (envFileCheck) CheckFile(_ context.Context, e *analyze.Entry, b analyze.Body, r analyze.Reporter) error {
	data, err := b.Bytes()
	if err != nil {
		return err
	}
	if _, v, ok := strings.Cut(strings.TrimSpace(string(data)), "="); ok {
		r.Report(e, finding.New(rulePipeSecret, finding.Location{}, "AWS secret access key in "+e.Path, finding.Redact(v)))
	}
	return nil
}

type setuidCheck struct{}

func (setuidCheck) Rules() []*finding.Rule { return []*finding.Rule{rulePipeSetuid} }
func (setuidCheck) Wants(e *analyze.Entry) bool {
	return e.IsRegular() && e.Mode&0o4000 != 0 || e.UnixMode()&0o4000 != 0
}
func (setuidCheck) CheckFile(_ context.Context, e *analyze.Entry, _ analyze.Body, r analyze.Reporter) error {
	r.Report(e, finding.New(rulePipeSetuid, finding.Location{}, e.Path+" is setuid", ""))
	return nil
}

func TestPipeline(t *testing.T) {
	img := imagetest.Image(t, v1.Config{Env: []string{"PATH=/usr/bin"}},
		imagetest.Layer{CreatedBy: "ADD rootfs.tar / # buildkit", Files: []imagetest.File{
			imagetest.Dir("/usr/bin"), {Path: "/usr/bin/passwd", Mode: fs.ModeSetuid | 0o755, Content: "x"}, {Path: "/usr/bin/su", Mode: fs.ModeSetuid | 0o755, Content: "y"},
			{Path: "/x", RawName: "../../etc/cron.d/evil", Content: "z"}}},
		imagetest.Layer{CreatedBy: "COPY . /app # buildkit", Files: []imagetest.File{
			imagetest.Dir("/app"), imagetest.Reg("/app/.env", "AWS_SECRET_ACCESS_KEY="+fullSecret+"\n")}},
		imagetest.Layer{CreatedBy: "RUN /bin/sh -c rm /app/.env # buildkit", Whiteouts: []string{"/app/.env"}},
	)
	eng := analyze.New(analyze.WithChecks(envFileCheck{}, setuidCheck{}))
	res, err := eng.Run(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	rules := append(analyze.Rules(), rulePipeSecret, rulePipeSetuid)
	cat, err := finding.NewCatalog(rules...)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := policy.Parse([]byte("ignore:\n  - id: test-setuid\n    paths: [/usr/bin/su]\n    reason: needed\n"), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(cat); err != nil {
		t.Fatal(err)
	}
	processed := cfg.Process(res.Findings, policy.Options{ImageRef: "app:1", Catalog: cat})

	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	r := &Report{Tool: Tool{Name: "imgharden"}, Image: Image{Ref: "app:1"}, Findings: processed.Findings,
		Suppressed: processed.Suppressed, Rules: cat.Rules()}
	for i, l := range layers {
		d, _ := l.Digest()
		diff, _ := l.DiffID()
		r.Layers = append(r.Layers, Layer{Index: i, Digest: d.String(), DiffID: diff.String(), CreatedBy: res.Layers[i].CreatedBy})
	}

	// The policy did its part.
	var got []string
	for _, f := range r.Findings {
		got = append(got, f.RuleID+" "+f.Location.Path)
	}
	if want := "IH4901 /app/.env|IH0003 /etc/cron.d/evil|IH1901 /usr/bin/passwd"; strings.Join(got, "|") != want {
		t.Fatalf("findings %q, want %q", strings.Join(got, "|"), want)
	}
	if r.Suppressed != 1 {
		t.Errorf("suppressed %d, want 1", r.Suppressed)
	}

	for _, format := range Formats() {
		t.Run(format, func(t *testing.T) {
			out := write(t, format, r)
			if bytes.Contains(out, []byte(fullSecret)) {
				t.Fatal("the full secret reached the output")
			}
			if !bytes.Contains(out, []byte(finding.Redact(fullSecret))) {
				t.Error("the redacted evidence is missing")
			}
			switch format {
			case "text":
				for _, want := range []string{
					"CRITICAL  IH4901  /app/.env  AWS secret access key in /app/.env\n          layer 1: COPY . /app · (removed in a later layer) · evidence: wJal",
					"HIGH      IH1901  /usr/bin/passwd  /usr/bin/passwd is setuid\n          layer 0: ADD rootfs.tar /\n",
					"3 findings: 1 critical, 2 high, 0 medium, 0 low, 0 info (1 suppressed)\n",
				} {
					if !strings.Contains(string(out), want) {
						t.Errorf("text lacks %q:\n%s", want, out)
					}
				}
			case "json":
				if err := validate(t, compileSchema(t, "../../docs/report.schema.json"), out); err != nil {
					t.Error(err)
				}
				var doc jsonReport
				if err := json.Unmarshal(out, &doc); err != nil {
					t.Fatal(err)
				}
				loc := doc.Findings[0].Location
				if !loc.Removed || loc.LayerIndex != 1 || loc.LayerDigest != r.Layers[1].Digest || loc.DiffID != r.Layers[1].DiffID ||
					loc.CreatedBy != "COPY . /app # buildkit" {
					t.Errorf("secret location %+v does not carry layer 1's facts %+v", loc, r.Layers[1])
				}
			case "sarif":
				if err := validate(t, compileSchema(t, "testdata/sarif-schema-2.1.0.json"), out); err != nil {
					t.Error(err)
				}
				doc := decodeSARIF(t, out)
				for _, v := range githubViolations(doc) {
					t.Error(v)
				}
				p := doc.Runs[0].Results[0].Properties
				if !p.Removed || p.LayerDigest != r.Layers[1].Digest {
					t.Errorf("SARIF properties %+v", p)
				}
			}
		})
	}
}
