package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgharden/imgharden/internal/imagetest"
	"github.com/imgharden/imgharden/pkg/finding"
	"github.com/imgharden/imgharden/pkg/source"
)

func Test_NewCmdScan(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr int // exit code of the parse error, 0 = parses
		check   func(t *testing.T, o *ScanOptions)
	}{
		{"defaults", []string{"docker-archive:x.tar"}, nil, 0, func(t *testing.T, o *ScanOptions) {
			if o.Format != "text" || o.FailOn != finding.SeverityHigh || o.MaxFile != 8<<20 || o.Image != "docker-archive:x.tar" {
				t.Fatalf("%+v", o)
			}
		}},
		{"flags", []string{"-f", "json", "--fail-on", "critical", "-o", "sarif=r.sarif", "-o", "json=-", "--max-file-size", "1M", "x"}, nil, 0, func(t *testing.T, o *ScanOptions) {
			if o.Format != "json" || o.FailOn != finding.SeverityCritical || len(o.Outputs) != 2 || o.Outputs[0] != (output{"sarif", "r.sarif"}) || o.MaxFile != 1<<20 {
				t.Fatalf("%+v", o)
			}
		}},
		{"env below flags", []string{"--fail-on", "low", "x"}, map[string]string{"IMGHARDEN_FAIL_ON": "none", "IMGHARDEN_FORMAT": "json"}, 0, func(t *testing.T, o *ScanOptions) {
			if o.FailOn != finding.SeverityLow || o.Format != "json" {
				t.Fatalf("%+v", o)
			}
		}},
		{"no image", nil, nil, ExitUsage, nil},
		{"two images", []string{"a", "b"}, nil, ExitUsage, nil},
		{"bad format", []string{"-f", "xml", "x"}, nil, ExitUsage, nil},
		{"bad fail-on", []string{"--fail-on", "severe", "x"}, nil, ExitUsage, nil},
		{"bad output", []string{"-o", "sarif", "x"}, nil, ExitUsage, nil},
		{"bad output format", []string{"-o", "csv=a.csv", "x"}, nil, ExitUsage, nil},
		{"bad size", []string{"--max-file-size", "big", "x"}, nil, ExitUsage, nil},
		{"unknown flag", []string{"--frobnicate", "x"}, nil, ExitUsage, nil},
		{"bad env", []string{"x"}, map[string]string{"IMGHARDEN_QUIET": "perhaps"}, ExitUsage, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var got *ScanOptions
			cmd := NewCmdScan("test", func(_ context.Context, o *ScanOptions) error { got = o; return nil })
			setFlagErrors(cmd)
			cmd.SetArgs(tt.args)
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if tt.wantErr != 0 {
				if ExitCode(err) != tt.wantErr {
					t.Fatalf("err = %v (exit %d), want exit %d", err, ExitCode(err), tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, got)
		})
	}
}

func planted(t *testing.T) v1.Image {
	return imagetest.Image(t, v1.Config{User: "0", Env: []string{"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}},
		imagetest.Layer{CreatedBy: "ADD rootfs.tar /", Files: []imagetest.File{
			imagetest.Dir("/bin/"), imagetest.Exe("/bin/sh"),
			{Path: "/usr/bin/passwd", Mode: fs.ModeSetuid | 0o755, Content: "\x7fELF"},
		}},
	)
}

func cleanImage(t *testing.T) v1.Image {
	return imagetest.Image(t, v1.Config{User: "65532", Healthcheck: &v1.HealthConfig{Test: []string{"CMD", "/app", "-health"}}},
		imagetest.Layer{CreatedBy: "COPY app /app", Files: []imagetest.File{imagetest.Exe("/app")}},
	)
}

func inject(imgs map[string]v1.Image) LoadImageFunc {
	return func(_ context.Context, ref source.Ref, _ ...source.Option) (*source.Image, error) {
		img, ok := imgs[ref.String()]
		if !ok {
			return nil, errors.New("registry 127.0.0.1:1: connection refused")
		}
		return &source.Image{Image: img, Ref: ref, ID: "sha256:test", Platform: "linux/amd64"}, nil
	}
}

func Test_scanRun(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name     string
		image    string
		failOn   finding.Severity
		format   string
		outputs  []output
		config   string
		wantExit int
		wantOut  []string
		wantErr  string
	}{
		{"planted fails the default gate", "app:planted", finding.SeverityHigh, "text", nil, "", ExitFindings,
			[]string{"IH1001", "/usr/bin/passwd", "IH2001", "findings:"}, ""},
		{"planted passes with none", "app:planted", finding.SeverityNone, "json", nil, "", ExitOK,
			[]string{`"schemaVersion"`, `"ruleID": "IH1001"`}, ""},
		{"clean passes", "app:clean", finding.SeverityMedium, "text", nil, "", ExitOK, []string{"0 findings"}, ""},
		{"sarif file and json stdout", "app:planted", finding.SeverityNone, "text", []output{{"sarif", filepath.Join(dir, "r.sarif")}, {"json", "-"}}, "", ExitOK,
			[]string{`"findings"`}, ""},
		{"registry error is a runtime error", "app:missing", finding.SeverityHigh, "text", nil, "", ExitRuntime, nil, "app:missing: registry 127.0.0.1:1: connection refused"},
		{"malformed reference", "oci:", finding.SeverityHigh, "text", nil, "", ExitUsage, nil, "bad image reference"},
		{"bad policy file", "app:clean", finding.SeverityHigh, "text", nil, "bad.yaml", ExitUsage, nil, "unknown"},
		{"policy disables the root rule", "app:planted", finding.SeverityHigh, "text", nil, "ok.yaml", ExitFindings, []string{"IH1001"}, ""},
	}
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("colour: red\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "ok.yaml"), []byte("disable: [IH2001]\n"), 0o644)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			o := &ScanOptions{Out: &out, ErrOut: &errOut, Image: tt.image, GateOptions: GateOptions{Format: tt.format, Outputs: tt.outputs,
				FailOn: tt.failOn, MaxFile: 1 << 20}, Now: func() time.Time { return imagetest.Epoch },
				LoadImage: inject(map[string]v1.Image{"app:planted": planted(t), "app:clean": cleanImage(t)})}
			if tt.config != "" {
				o.Config = filepath.Join(dir, tt.config)
			}
			err := scanRun(context.Background(), o)
			if got := ExitCode(err); got != tt.wantExit {
				t.Fatalf("exit %d (%v), want %d\n%s", got, err, tt.wantExit, out.String())
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, out.String())
				}
			}
			if strings.Contains(out.String(), "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") {
				t.Fatal("a whole secret reached the report")
			}
			if tt.name == "policy disables the root rule" && strings.Contains(out.String(), "IH2001") {
				t.Fatal("disabled rule still reported")
			}
			for _, o := range tt.outputs {
				if o.path == "-" {
					continue
				}
				b, err := os.ReadFile(o.path)
				if err != nil || !json.Valid(b) {
					t.Fatalf("%s: %v", o.path, err)
				}
			}
		})
	}
}

func TestScanBaseMarksInheritedSetuid(t *testing.T) {
	base := imagetest.Image(t, v1.Config{}, imagetest.Layer{CreatedBy: "ADD base", Files: []imagetest.File{
		{Path: "/usr/bin/passwd", Mode: fs.ModeSetuid | 0o755, Content: "\x7fELF"},
	}})
	app := imagetest.Image(t, v1.Config{User: "1000"},
		imagetest.Layer{CreatedBy: "ADD base", Files: []imagetest.File{{Path: "/usr/bin/passwd", Mode: fs.ModeSetuid | 0o755, Content: "\x7fELF"}}},
		imagetest.Layer{CreatedBy: "COPY tool", Files: []imagetest.File{{Path: "/usr/local/bin/tool", Mode: fs.ModeSetuid | 0o755, Content: "\x7fELF"}}},
	)
	var out bytes.Buffer
	o := &ScanOptions{Out: &out, ErrOut: &bytes.Buffer{}, Image: "app", Base: "base", GateOptions: GateOptions{Format: "json", FailOn: finding.SeverityNone,
		MaxFile: 1 << 20}, Now: time.Now, LoadImage: inject(map[string]v1.Image{"app": app, "base": base})}
	if err := scanRun(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Findings []finding.Finding `json:"findings"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range rep.Findings {
		if f.RuleID == "IH1001" {
			got[f.Location.Path] = f.Details["new"]
		}
	}
	if got["/usr/bin/passwd"] != "false" || got["/usr/local/bin/tool"] != "true" {
		t.Fatalf("new flags = %v", got)
	}
}
