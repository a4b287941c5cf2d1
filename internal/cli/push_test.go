package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imgharden/imgharden/internal/ecrfake"
	"github.com/imgharden/imgharden/internal/imagetest"
	"github.com/imgharden/imgharden/pkg/finding"
	"github.com/imgharden/imgharden/pkg/publish"
	"github.com/imgharden/imgharden/pkg/sbom"
	"github.com/imgharden/imgharden/pkg/source"
)

func Test_NewCmdPush(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr int
		check   func(t *testing.T, o *PushOptions)
	}{
		{"defaults", []string{"docker-archive:a.tar", "r.example/app:1"}, nil, 0, func(t *testing.T, o *PushOptions) {
			if o.Src != "docker-archive:a.tar" || o.Dest != "r.example/app:1" || o.Jobs != publish.DefaultJobs || o.KMSKey != "" || o.CreateRepo || o.ECR == nil || o.LoadImage == nil {
				t.Fatalf("%+v", o)
			}
		}},
		{"flags", []string{"--kms-key", "alias/k", "--create-repo", "--referrer-tag-exclusion", "--region", "eu-west-1", "--digest-file", "d", "--jobs", "8", "-v", "--insecure", "a", "b"}, nil, 0,
			func(t *testing.T, o *PushOptions) {
				if o.KMSKey != "alias/k" || !o.CreateRepo || !o.ReferrerTags || o.Region != "eu-west-1" || o.DigestFile != "d" || o.Jobs != 8 || !o.Verbose || !o.Registry.Insecure {
					t.Fatalf("%+v", o)
				}
			}},
		{"env below flags", []string{"--jobs", "2", "a", "b"}, map[string]string{"IMGHARDEN_KMS_KEY": "alias/env", "IMGHARDEN_JOBS": "9"}, 0, func(t *testing.T, o *PushOptions) {
			if o.KMSKey != "alias/env" || o.Jobs != 2 {
				t.Fatalf("%+v", o)
			}
		}},
		{"create-repo without a key", []string{"--create-repo", "a", "b"}, nil, ExitUsage, nil},
		{"exclusion without create-repo", []string{"--referrer-tag-exclusion", "--kms-key", "k", "a", "b"}, nil, ExitUsage, nil},
		{"no jobs", []string{"--jobs", "0", "a", "b"}, nil, ExitUsage, nil},
		{"one argument", []string{"a"}, nil, ExitUsage, nil},
		{"unknown flag", []string{"--force", "a", "b"}, nil, ExitUsage, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var got *PushOptions
			cmd := NewCmdPush("test", func(_ context.Context, o *PushOptions) error { got = o; return nil })
			setFlagErrors(cmd)
			cmd.SetArgs(tt.args)
			cmd.SetOut(io.Discard)
			cmd.SetErr(io.Discard)
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

func Test_NewCmdPromote(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr int
		check   func(t *testing.T, o *PromoteOptions)
	}{
		{"defaults", []string{"a", "b"}, 0, func(t *testing.T, o *PromoteOptions) {
			if o.Format != "text" || o.FailOn != finding.SeverityHigh || o.MaxFile != 8<<20 || o.Jobs != publish.DefaultJobs || len(o.Attach) != 0 || o.SBOM != sbom.SPDXJSON {
				t.Fatalf("%+v", o)
			}
		}},
		{"sbom format", []string{"--sbom", "cyclonedx-json", "a", "b"}, 0, func(t *testing.T, o *PromoteOptions) {
			if o.SBOM != sbom.CycloneDXJSON {
				t.Fatalf("SBOM %q", o.SBOM)
			}
		}},
		{"no sbom", []string{"--sbom", "none", "a", "b"}, 0, func(t *testing.T, o *PromoteOptions) {
			if o.SBOM != "" {
				t.Fatalf("SBOM %q", o.SBOM)
			}
		}},
		{"bad sbom format", []string{"--sbom", "spdx-xml", "a", "b"}, ExitUsage, nil},
		{"flags", []string{"-f", "json", "--fail-on", "critical", "-o", "sarif=s.sarif", "--attach", "application/spdx+json=sbom.json", "--kms-key", "k", "--create-repo", "a", "b"}, 0,
			func(t *testing.T, o *PromoteOptions) {
				if o.Format != "json" || o.FailOn != finding.SeverityCritical || len(o.Outputs) != 1 || !o.CreateRepo ||
					!slices.Equal(o.Attach, []attachment{{"application/spdx+json", "sbom.json"}}) {
					t.Fatalf("%+v", o)
				}
			}},
		{"bad attach", []string{"--attach", "sbom.json", "a", "b"}, ExitUsage, nil},
		{"bad attach media type", []string{"--attach", "spdx=sbom.json", "a", "b"}, ExitUsage, nil},
		{"bad format", []string{"-f", "xml", "a", "b"}, ExitUsage, nil},
		{"bad fail-on", []string{"--fail-on", "severe", "a", "b"}, ExitUsage, nil},
		{"create-repo without a key", []string{"--create-repo", "a", "b"}, ExitUsage, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *PromoteOptions
			cmd := NewCmdPromote("test", func(_ context.Context, o *PromoteOptions) error { got = o; return nil })
			setFlagErrors(cmd)
			cmd.SetArgs(tt.args)
			cmd.SetOut(io.Discard)
			cmd.SetErr(io.Discard)
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

// ecrEnv is the ECR test double with two customer keys, and push options that reach it.
type ecrEnv struct {
	s                 *ecrfake.Server
	teamKey, otherKey string
}

func newECREnv(t *testing.T, opts ...ecrfake.Option) *ecrEnv {
	s := ecrfake.New(t, opts...)
	return &ecrEnv{s: s, teamKey: s.AddKey("alias/team", false), otherKey: s.AddKey("alias/other", false)}
}

// wire points o at the double.
func (e *ecrEnv) wire(o *PushOptions) {
	o.ECR = func(_ context.Context, region string) (publish.ECRAPI, publish.KMSAPI, error) {
		if region != e.s.Region {
			return nil, nil, errors.New("wrong region " + region)
		}
		return e.s.ECR(), e.s.KMS(), nil
	}
	o.Transport = e.s.Transport()
	o.Keychain = authn.NewMultiKeychain()
}

func (e *ecrEnv) dest(repoTag string) string { return e.s.Host + "/" + repoTag }

func (e *ecrEnv) head(t *testing.T, repoTag string) *v1.Descriptor {
	t.Helper()
	out, err := e.s.ECR().GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	user, pass := decodeBasic(t, *out.AuthorizationData[0].AuthorizationToken)
	ref, err := name.ParseReference(e.dest(repoTag))
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(ref, remote.WithTransport(e.s.Transport()),
		remote.WithAuth(&authn.Basic{Username: user, Password: pass}))
	if err != nil {
		return nil
	}
	return d
}

func decodeBasic(t *testing.T, tok string) (string, string) {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(tok)
	user, pass, ok := strings.Cut(string(b), ":")
	if err != nil || !ok {
		t.Fatalf("token: %v", err)
	}
	return user, pass
}

func writes(s *ecrfake.Server) int {
	n := 0
	for _, w := range s.Writes() {
		if w.Method != http.MethodGet && w.Method != http.MethodHead {
			n++
		}
	}
	return n
}

func pushOpts(out, errOut *bytes.Buffer, src, dest string, imgs map[string]v1.Image) *PushOptions {
	o := newPushOptions("test")
	o.Out, o.ErrOut, o.Src, o.Dest = out, errOut, src, dest
	o.LoadImage = inject(imgs)
	return &o
}

func imageDigest(t *testing.T, img v1.Image) string {
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func Test_pushRun(t *testing.T) {
	clean, planted := cleanImage(t), planted(t)
	imgs := map[string]v1.Image{"app:clean": clean, "app:planted": planted}
	dir := t.TempDir()
	tests := []struct {
		name     string
		setup    func(e *ecrEnv)
		src, dst string
		opts     func(o *PushOptions, e *ecrEnv)
		wantExit int
		wantOut  string // substring of stdout
		wantErr  []string
		wantLog  []string // substrings of stderr
		check    func(t *testing.T, e *ecrEnv)
	}{
		{name: "create with KMS", src: "app:clean", dst: "ECR/team/app:1.0",
			opts: func(o *PushOptions, e *ecrEnv) {
				o.CreateRepo, o.KMSKey, o.DigestFile = true, "alias/team", filepath.Join(dir, "digest")
			},
			wantExit: ExitOK, wantOut: "/team/app@sha256:", wantLog: []string{"created ECR repository", "IMMUTABLE", "pushed"},
			check: func(t *testing.T, e *ecrEnv) {
				r, ok := e.s.Repository("team/app")
				if !ok || r.Mutability != "IMMUTABLE" || r.EncryptionType != "KMS" || r.KMSKey != e.teamKey {
					t.Fatalf("repository %+v", r)
				}
				b, _ := os.ReadFile(filepath.Join(dir, "digest"))
				if d := e.head(t, "team/app:1.0"); d == nil || strings.TrimSpace(string(b)) != d.Digest.String() {
					t.Fatalf("digest file %q, tag %v", b, d)
				}
			}},
		{name: "refuse an existing MUTABLE repository",
			setup: func(e *ecrEnv) {
				e.s.AddRepository(ecrfake.Repository{Name: "app", Mutability: "MUTABLE", EncryptionType: "KMS", KMSKey: e.teamKey})
			},
			src: "app:clean", dst: "ECR/app:1.0", opts: func(o *PushOptions, e *ecrEnv) { o.KMSKey = "alias/team" },
			wantExit: ExitFindings, wantErr: []string{"IH5001", "MUTABLE", "put-image-tag-mutability"}},
		{name: "refuse a repository without KMS",
			setup: func(e *ecrEnv) { e.s.AddRepository(ecrfake.Repository{Name: "app", Mutability: "IMMUTABLE"}) },
			src:   "app:clean", dst: "ECR/app:1.0",
			wantExit: ExitFindings, wantErr: []string{"IH5002", "AES256", "replicate"}},
		{name: "refuse another KMS key",
			setup: func(e *ecrEnv) {
				e.s.AddRepository(ecrfake.Repository{Name: "app", Mutability: "IMMUTABLE", EncryptionType: "KMS", KMSKey: e.otherKey})
			},
			src: "app:clean", dst: "ECR/app:1.0", opts: func(o *PushOptions, e *ecrEnv) { o.KMSKey = "alias/team" },
			wantExit: ExitFindings, wantErr: []string{"IH5003", "alias/team"}},
		{name: "missing repository", src: "app:clean", dst: "ECR/app:1.0",
			wantExit: ExitRuntime, wantErr: []string{"does not exist", "--create-repo --kms-key"}},
		{name: "idempotent re-run",
			setup: func(e *ecrEnv) {
				e.s.AddRepository(ecrfake.Repository{Name: "app", Mutability: "IMMUTABLE", EncryptionType: "KMS", KMSKey: e.teamKey})
			},
			src: "app:clean", dst: "ECR/app:1.0",
			opts: func(o *PushOptions, e *ecrEnv) {
				var out, errOut bytes.Buffer
				first := pushOpts(&out, &errOut, "app:clean", e.dest("app:1.0"), map[string]v1.Image{"app:clean": cleanImage(t)})
				e.wire(first)
				if err := pushRun(context.Background(), first); err != nil {
					t.Fatal(err)
				}
				e.s.ResetLog()
			},
			wantExit: ExitOK, wantOut: "/app@sha256:", wantLog: []string{"already points at", "nothing pushed"},
			check: func(t *testing.T, e *ecrEnv) {
				if n := writes(e.s); n != 0 {
					t.Fatalf("re-run wrote %d requests", n)
				}
			}},
		{name: "different digest: refused, nothing written",
			setup: func(e *ecrEnv) {
				e.s.AddRepository(ecrfake.Repository{Name: "app", Mutability: "IMMUTABLE", EncryptionType: "KMS", KMSKey: e.teamKey})
			},
			src: "app:planted", dst: "ECR/app:1.0",
			opts: func(o *PushOptions, e *ecrEnv) {
				var out, errOut bytes.Buffer
				first := pushOpts(&out, &errOut, "app:clean", e.dest("app:1.0"), map[string]v1.Image{"app:clean": cleanImage(t)})
				e.wire(first)
				if err := pushRun(context.Background(), first); err != nil {
					t.Fatal(err)
				}
				e.s.ResetLog()
			},
			wantExit: ExitFindings, wantErr: []string{imageDigest(t, clean), imageDigest(t, planted), "IH5004"},
			check: func(t *testing.T, e *ecrEnv) {
				if n := writes(e.s); n != 0 {
					t.Fatalf("refused push wrote %d requests", n)
				}
			}},
		{name: "progress on a terminal", setup: func(e *ecrEnv) {
			e.s.AddRepository(ecrfake.Repository{Name: "app", Mutability: "IMMUTABLE", EncryptionType: "KMS", KMSKey: e.teamKey})
		}, src: "app:clean", dst: "ECR/app:1.0", opts: func(o *PushOptions, e *ecrEnv) { o.Progress = true },
			wantExit: ExitOK, wantLog: []string{"\r\x1b[Kpushing " + "123456789012", "2/2 blobs"}},
		{name: "kms flags on another registry", src: "app:clean", dst: "registry.example.com/app:1",
			opts: func(o *PushOptions, e *ecrEnv) { o.KMSKey = "alias/team" }, wantExit: ExitUsage, wantErr: []string{"--kms-key", "not one"}},
		{name: "no tag", src: "app:clean", dst: "registry.example.com/app", wantExit: ExitUsage, wantErr: []string{"REGISTRY/REPOSITORY:TAG", "(no tag)"}},
		{name: "no registry", src: "app:clean", dst: "app:1", wantExit: ExitUsage, wantErr: []string{"no registry host"}},
		{name: "digest destination", src: "app:clean", dst: "registry.example.com/app@sha256:" + strings.Repeat("a", 64), wantExit: ExitUsage, wantErr: []string{"digest names no tag"}},
		{name: "archive destination", src: "app:clean", dst: "oci-archive:/tmp/x.tar", wantExit: ExitUsage, wantErr: []string{"write to registries"}},
		{name: "fallback tag name", src: "app:clean", dst: "registry.example.com/app:sha256-abc", wantExit: ExitUsage, wantErr: []string{"fallback tag"}},
		{name: "region mismatch", src: "app:clean", dst: "ECR/app:1", opts: func(o *PushOptions, e *ecrEnv) { o.Region = "eu-west-1" },
			wantExit: ExitUsage, wantErr: []string{"--region eu-west-1"}},
		{name: "unreadable source", src: "app:missing", dst: "ECR/app:1", wantExit: ExitRuntime, wantErr: []string{"app:missing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newECREnv(t)
			if tt.setup != nil {
				tt.setup(e)
			}
			var out, errOut bytes.Buffer
			dst := strings.Replace(tt.dst, "ECR/", e.s.Host+"/", 1) // ECR/ is the double's registry
			o := pushOpts(&out, &errOut, tt.src, dst, imgs)
			e.wire(o)
			if tt.opts != nil {
				tt.opts(o, e)
			}
			err := pushRun(context.Background(), o)
			if got := ExitCode(err); got != tt.wantExit {
				t.Fatalf("exit %d (%v), want %d\nstderr: %s", got, err, tt.wantExit, errOut.String())
			}
			for _, w := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want it to contain %q", err, w)
				}
			}
			if !strings.Contains(out.String(), tt.wantOut) || (tt.wantOut == "" && out.Len() > 0 && err != nil) {
				t.Errorf("stdout %q, want %q", out.String(), tt.wantOut)
			}
			for _, w := range tt.wantLog {
				if !strings.Contains(errOut.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut.String())
				}
			}
			if tt.wantExit == ExitFindings && writes(e.s) != 0 {
				t.Errorf("a refused push wrote to the registry: %+v", e.s.Writes())
			}
			if tt.wantExit != ExitOK && slices.Contains(e.s.Ops(), "ecr:CreateRepository") {
				t.Error("a repository was created for a failed push")
			}
			if tt.check != nil {
				tt.check(t, e)
			}
		})
	}
}

func Test_pushRunToAnotherRegistry(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	dest := strings.TrimPrefix(srv.URL, "http://") + "/team/app:1"
	imgs := map[string]v1.Image{"a": cleanImage(t), "b": planted(t)}
	var out, errOut bytes.Buffer
	o := pushOpts(&out, &errOut, "a", dest, imgs)
	o.Keychain = authn.NewMultiKeychain()
	if err := pushRun(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "not an Amazon ECR registry") || !strings.HasPrefix(out.String(), strings.TrimSuffix(dest, ":1")+"@sha256:") {
		t.Fatalf("stdout %q stderr %q", out.String(), errOut.String())
	}
	o.Src = "b"
	if err := pushRun(context.Background(), o); ExitCode(err) != ExitFindings || !errors.Is(err, publish.ErrTagExists) {
		t.Fatalf("another image to the same tag: %v", err)
	}
}

func Test_promoteRun(t *testing.T) {
	clean, planted := cleanImage(t), planted(t)
	imgs := map[string]v1.Image{"app:clean": clean, "app:planted": planted}
	sbomFile := filepath.Join(t.TempDir(), "extra.json")
	os.WriteFile(sbomFile, []byte(`{"extra":true}`), 0o644)
	promote := func(e *ecrEnv, src, dest, format string, mod func(o *PromoteOptions)) (string, string, error) {
		var out, errOut bytes.Buffer
		o := &PromoteOptions{PushOptions: *pushOpts(&out, &errOut, src, dest, imgs), GateOptions: GateOptions{Format: format, FailOn: finding.SeverityHigh,
			MaxFile: 1 << 20}}
		o.Now = func() time.Time { return imagetest.Epoch }
		e.wire(&o.PushOptions)
		if mod != nil {
			mod(o)
		}
		err := promoteRun(context.Background(), o)
		return out.String(), errOut.String(), err
	}

	t.Run("blocked by a failing gate", func(t *testing.T) {
		e := newECREnv(t)
		out, errOut, err := promote(e, "app:planted", e.dest("app:1"), "text", func(o *PromoteOptions) { o.CreateRepo, o.KMSKey = true, "alias/team" })
		if ExitCode(err) != ExitFindings || !errors.Is(err, ErrFindings) {
			t.Fatalf("exit %d (%v)", ExitCode(err), err)
		}
		if !strings.Contains(out, "IH1001") || !strings.Contains(out, "/usr/bin/passwd") || !strings.Contains(errOut, "not promoted") {
			t.Fatalf("report not printed:\n%s\n%s", out, errOut)
		}
		if len(e.s.Ops()) != 0 || len(e.s.Writes()) != 0 {
			t.Fatalf("a blocked promotion called AWS: %v %v", e.s.Ops(), e.s.Writes())
		}
	})

	t.Run("passes, report and artifacts attached", func(t *testing.T) {
		e := newECREnv(t)
		hook := func(_ context.Context, img *source.Image) ([]publish.Artifact, error) {
			return []publish.Artifact{{ArtifactType: "application/spdx+json", Data: []byte(`{"spdxVersion":"SPDX-2.3","name":"` + img.Ref.String() + `"}`)}}, nil
		}
		out, errOut, err := promote(e, "app:clean", e.dest("app:1"), "json", func(o *PromoteOptions) {
			o.CreateRepo, o.KMSKey = true, "alias/team"
			o.Attach = []attachment{{"application/vnd.example.extra+json", sbomFile}}
			o.Artifacts = hook
		})
		if err != nil {
			t.Fatalf("%v\n%s", err, errOut)
		}
		var rep struct {
			SchemaVersion string `json:"schemaVersion"`
		}
		if json.Unmarshal([]byte(out), &rep) != nil || rep.SchemaVersion == "" {
			t.Fatalf("stdout is not the JSON report: %s", out)
		}
		d := e.head(t, "app:1")
		if d == nil || d.Digest.String() != imageDigest(t, clean) {
			t.Fatal("image not pushed")
		}
		refs := listReferrers(t, e, "app", d.Digest)
		var types []string
		for _, r := range refs {
			types = append(types, r.ArtifactType)
		}
		slices.Sort(types)
		if want := []string{"application/spdx+json", "application/vnd.example.extra+json", publish.ReportArtifactType}; !slices.Equal(types, want) {
			t.Fatalf("referrers %v, want %v", types, want)
		}
		if strings.Count(errOut, "imgharden: attached ") != 3 {
			t.Errorf("stderr: %s", errOut)
		}
		// A re-run with the same inputs writes nothing.
		e.s.ResetLog()
		if _, errOut, err := promote(e, "app:clean", e.dest("app:1"), "json", func(o *PromoteOptions) {
			o.KMSKey = "alias/team"
			o.Attach = []attachment{{"application/vnd.example.extra+json", sbomFile}}
			o.Artifacts = hook
		}); err != nil || writes(e.s) != 0 {
			t.Fatalf("re-run: %v, %d writes\n%s", err, writes(e.s), errOut)
		}
	})

	t.Run("attaches the SBOM of the promoted image", func(t *testing.T) {
		e := newECREnv(t)
		_, errOut, err := promote(e, "app:clean", e.dest("app:1"), "json", func(o *PromoteOptions) {
			o.CreateRepo, o.KMSKey = true, "alias/team"
			o.SBOM = sbom.CycloneDXJSON
		})
		if err != nil {
			t.Fatalf("%v\n%s", err, errOut)
		}
		d := e.head(t, "app:1")
		if d == nil {
			t.Fatal("image not pushed")
		}
		var types []string
		for _, r := range listReferrers(t, e, "app", d.Digest) {
			types = append(types, r.ArtifactType)
		}
		slices.Sort(types)
		if want := []string{"application/vnd.cyclonedx+json", publish.ReportArtifactType}; !slices.Equal(types, want) {
			t.Fatalf("referrers %v, want %v", types, want)
		}
	})

	t.Run("repository refusal is in the report", func(t *testing.T) {
		e := newECREnv(t)
		e.s.AddRepository(ecrfake.Repository{Name: "app"})
		out, _, err := promote(e, "app:clean", e.dest("app:1"), "json", nil)
		if ExitCode(err) != ExitFindings || !errors.Is(err, publish.ErrMutableRepository) {
			t.Fatalf("exit %d (%v)", ExitCode(err), err)
		}
		for _, id := range []string{`"ruleID": "IH5001"`, `"ruleID": "IH5002"`} {
			if !strings.Contains(out, id) {
				t.Errorf("report lacks %s:\n%s", id, out)
			}
		}
		if writes(e.s) != 0 {
			t.Fatal("a refused promotion wrote to the registry")
		}
	})

	t.Run("existing tag is in the report", func(t *testing.T) {
		e := newECREnv(t)
		mod := func(o *PromoteOptions) { o.CreateRepo, o.KMSKey, o.FailOn = true, "alias/team", finding.SeverityNone }
		if _, _, err := promote(e, "app:clean", e.dest("app:1"), "text", mod); err != nil {
			t.Fatal(err)
		}
		out, _, err := promote(e, "app:planted", e.dest("app:1"), "text", mod)
		if ExitCode(err) != ExitFindings || !errors.Is(err, publish.ErrTagExists) {
			t.Fatalf("exit %d (%v)", ExitCode(err), err)
		}
		if !strings.Contains(out, "IH5004") || !strings.Contains(out, imageDigest(t, clean)) {
			t.Fatalf("report:\n%s", out)
		}
	})
}

func listReferrers(t *testing.T, e *ecrEnv, repo string, subject v1.Hash) []v1.Descriptor {
	t.Helper()
	out, err := e.s.ECR().GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	user, pass := decodeBasic(t, *out.AuthorizationData[0].AuthorizationToken)
	d, err := name.NewDigest(e.s.Host + "/" + repo + "@" + subject.String())
	if err != nil {
		t.Fatal(err)
	}
	refs, err := publish.Referrers(context.Background(), d, publish.WithTransport(e.s.Transport()),
		publish.WithAuth(&authn.Basic{Username: user, Password: pass}))
	if err != nil {
		t.Fatal(err)
	}
	return refs
}

// TestPushNeverPrintsCredentials runs the push and promote commands with the debug log on, in
// success and failure, and looks for every secret the double knows in everything printed.
func TestPushNeverPrintsCredentials(t *testing.T) {
	e := newECREnv(t)
	e.s.AddRepository(ecrfake.Repository{Name: "mutable"})
	imgs := map[string]v1.Image{"app:clean": cleanImage(t), "app:planted": planted(t)}
	var printed strings.Builder
	run := func(args ...string) {
		var out, errOut bytes.Buffer
		cmd := NewCmdPush("test", func(ctx context.Context, o *PushOptions) error {
			e.wire(o)
			o.LoadImage = inject(imgs)
			return pushRun(ctx, o)
		})
		if args[0] == "promote" {
			cmd = NewCmdPromote("test", func(ctx context.Context, o *PromoteOptions) error {
				e.wire(&o.PushOptions)
				o.LoadImage = inject(imgs)
				return promoteRun(ctx, o)
			})
		}
		setFlagErrors(cmd)
		cmd.SetArgs(append([]string{"-v"}, args[1:]...))
		cmd.SetOut(&out)
		cmd.SetErr(&errOut)
		err := cmd.Execute()
		printed.WriteString(out.String() + errOut.String())
		if err != nil {
			printed.WriteString(err.Error())
		}
	}
	run("push", "--create-repo", "--kms-key", "alias/team", "app:clean", e.dest("app:1"))
	run("push", "app:planted", e.dest("app:1"))   // tag exists
	run("push", "app:clean", e.dest("mutable:1")) // mutable
	run("promote", "--fail-on", "none", "-f", "json", "app:clean", e.dest("app:2"))
	run("promote", "app:planted", e.dest("app:3")) // gate
	if !strings.Contains(printed.String(), "ecr authorization token fetched") {
		t.Fatalf("the debug log did not run:\n%s", printed.String())
	}
	for _, s := range e.s.Secrets() {
		if strings.Contains(printed.String(), s) {
			t.Fatalf("a credential was printed:\n%s", printed.String())
		}
	}
}

// TestDefaultECRClientsUseTheSDKChain points the AWS SDK's default configuration at the
// double through the standard environment variables and pushes with it.
func TestDefaultECRClientsUseTheSDKChain(t *testing.T) {
	e := newECREnv(t)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	empty := filepath.Join(dir, "empty")
	os.WriteFile(ca, e.s.CertPEM(), 0o644)
	os.WriteFile(empty, nil, 0o644)
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": e.s.AccessKeyID, "AWS_SECRET_ACCESS_KEY": e.s.SecretAccessKey, "AWS_SESSION_TOKEN": "",
		"AWS_ENDPOINT_URL_ECR": e.s.URL, "AWS_ENDPOINT_URL_KMS": e.s.URL, "AWS_CA_BUNDLE": ca,
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": empty, "AWS_SHARED_CREDENTIALS_FILE": empty,
		"AWS_PROFILE": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": "", "AWS_MAX_ATTEMPTS": "1",
	} {
		t.Setenv(k, v)
	}
	api, _, err := defaultECRClients(context.Background(), e.s.Region)
	if err != nil {
		t.Fatal(err)
	}
	_, err = api.DescribeRepositories(context.Background(), &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"nope"}})
	var nf *ecrtypes.RepositoryNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("DescribeRepositories through the default chain: %v", err)
	}
	var out, errOut bytes.Buffer
	o := pushOpts(&out, &errOut, "app", e.dest("team/app:1"), map[string]v1.Image{"app": cleanImage(t)})
	o.Transport = e.s.Transport()
	o.CreateRepo, o.KMSKey = true, "alias/team"
	if err := pushRun(context.Background(), o); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "@sha256:") {
		t.Fatalf("stdout %q", out.String())
	}
}

func TestProgressBar(t *testing.T) {
	var buf bytes.Buffer
	p := &progressBar{w: &buf, label: "r/app:1"}
	p.update(publish.Progress{Blobs: 2, Bytes: 3 << 20})
	p.update(publish.Progress{Blobs: 2, Bytes: 3 << 20, BytesDone: 1 << 20}) // within 100 ms: skipped
	p.update(publish.Progress{Blobs: 2, BlobsDone: 2, Bytes: 3 << 20, BytesDone: 3 << 20})
	p.finish()
	want := "\r\x1b[Kpushing r/app:1  0 B / 3.0 MiB  0/2 blobs\r\x1b[Kpushing r/app:1  3.0 MiB / 3.0 MiB  2/2 blobs\n"
	if buf.String() != want {
		t.Fatalf("%q\nwant %q", buf.String(), want)
	}
	var none *progressBar
	none.finish() // no bar, no panic
}
