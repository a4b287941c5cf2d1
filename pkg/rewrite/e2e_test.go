//go:build e2e

package rewrite_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imgharden/imgharden/e2e"
	"github.com/imgharden/imgharden/internal/e2eenv"
	"github.com/imgharden/imgharden/pkg/rewrite"
	"github.com/imgharden/imgharden/pkg/source"
)

// fatRef is the fat-builder fixture (build-essential, curl, wget, git, python3) in the local
// registry, built and pushed by the e2e package on first use.
func fatRef(t *testing.T) string {
	if r := os.Getenv("IMGHARDEN_E2E_FAT"); r != "" {
		return r
	}
	return e2e.Fixture(t, e2e.FatBuilder).RegistryRef
}

func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// inspectBuilt builds a Dockerfile with buildah and inspects the result.
func inspectBuilt(t *testing.T, ctxDir, tag string) *rewrite.Image {
	t.Helper()
	run(t, ctxDir, "buildah", "bud", "--layers", "--tls-verify=false", "--pull=missing", "-t", tag, ctxDir)
	t.Cleanup(func() { exec.Command("podman", "rmi", "--force", tag).Run() })
	archive := filepath.Join(t.TempDir(), "orig.tar")
	run(t, ctxDir, "podman", "save", "--quiet", "--format", "docker-archive", "-o", archive, tag)
	ref, err := source.Parse("docker-archive:" + archive)
	if err != nil {
		t.Fatal(err)
	}
	img, err := source.Open(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { img.Close() })
	im, err := rewrite.Inspect(t.Context(), img, tag, "")
	if err != nil {
		t.Fatal(err)
	}
	return im
}

func verifyLogged(t *testing.T, in rewrite.VerifyInput) *rewrite.VerifyReport {
	t.Helper()
	var log strings.Builder
	in.Log = &log
	start := time.Now()
	rep, err := rewrite.Verify(t.Context(), in)
	if err != nil {
		t.Fatalf("verify: %v\n%s", err, log.String())
	}
	var out strings.Builder
	rep.WriteText(&out)
	t.Logf("verify (%s):\n%s", time.Since(start).Round(time.Millisecond), out.String())
	if !rep.ProbeEqual {
		t.Errorf("probe differs: original exit %d %q, hardened exit %d %q", rep.Original.ProbeExit,
			rep.Original.ProbeOutput, rep.Hardened.ProbeExit, rep.Hardened.ProbeOutput)
	}
	if len(rep.Hardened.SetuidFiles) != 0 || len(rep.Hardened.Shells) != 0 && len(rep.Original.Shells) == 0 {
		t.Errorf("hardened image has setuid files %v, shells %v", rep.Hardened.SetuidFiles, rep.Hardened.Shells)
	}
	return rep
}

func assertSmaller(t *testing.T, rep *rewrite.VerifyReport, factor float64) {
	t.Helper()
	if float64(rep.Original.Size) < factor*float64(rep.Hardened.Size) {
		t.Errorf("hardened image is %d bytes, original %d: not %.0f× smaller", rep.Hardened.Size, rep.Original.Size, factor)
	}
}

func rewriteFile(t *testing.T, dir string, im *rewrite.Image) []byte {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := rewrite.New(rewrite.WithImage(im)).Rewrite(t.Context(), "Dockerfile", src)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("hardened Dockerfile:\n%s", res.Output)
	for _, f := range res.Findings {
		t.Logf("finding %s: %s", f.RuleID, f.Message)
	}
	return res.Output
}

// TestE2EStaticGoServer: a static Go server COPYed into the fat toolchain image becomes a
// scratch image with the server alone, runs as non-root, and answers the same.
func TestE2EStaticGoServer(t *testing.T) {
	e2eenv.Require(t, "podman", "buildah", "go")
	dir := t.TempDir()
	srv := `package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		_, err := os.Stat("/usr/bin/gcc")
		fmt.Fprintf(w, "hello from %s\n", r.URL.Path)
		_ = err
	})
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(srv), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, dir, "go", "mod", "init", "example.com/srv")
	cmd := exec.Command("go", "build", "-o", "server", ".")
	cmd.Dir, cmd.Env = dir, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	port := 38000 + os.Getpid()%1000
	df := fmt.Sprintf("FROM %s\nCOPY server /usr/local/bin/server\nENV PORT=%d\nEXPOSE %d\nENTRYPOINT [\"/usr/local/bin/server\"]\n", fatRef(t), port, port)
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	im := inspectBuilt(t, dir, fmt.Sprintf("localhost/imgharden-e2e-rw/go:%d", os.Getpid()))
	out := rewriteFile(t, dir, im)
	if !strings.Contains(string(out), "FROM scratch\n") {
		t.Fatalf("no scratch final stage:\n%s", out)
	}
	rep := verifyLogged(t, rewrite.VerifyInput{Dockerfile: filepath.Join(dir, "Dockerfile"), Original: []byte(df),
		Hardened: out, Probe: fmt.Sprintf("http://127.0.0.1:%d/probe", port)})
	if rep.Original.ProbeOutput != "hello from /probe\n" {
		t.Errorf("original answered %q", rep.Original.ProbeOutput)
	}
	assertSmaller(t, rep, 5)
}

// TestE2EShellScriptApp: a shell script app is rebuilt FROM scratch with the shell and the
// commands it calls, and prints the same.
func TestE2EShellScriptApp(t *testing.T) {
	e2eenv.Require(t, "podman", "buildah")
	dir := t.TempDir()
	script := "#!/bin/sh\nset -e\necho \"args: $*\"\necho hello | tr a-z A-Z\ndate -u -d @0 +%Y\nls /app | sort\n"
	if err := os.WriteFile(filepath.Join(dir, "app.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	df := fmt.Sprintf("FROM %s\nCOPY app.sh /app/app.sh\nENTRYPOINT [\"/app/app.sh\"]\n", fatRef(t))
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	im := inspectBuilt(t, dir, fmt.Sprintf("localhost/imgharden-e2e-rw/sh:%d", os.Getpid()))
	out := rewriteFile(t, dir, im)
	rep := verifyLogged(t, rewrite.VerifyInput{Dockerfile: filepath.Join(dir, "Dockerfile"), Original: []byte(df),
		Hardened: out, Probe: "world"})
	if !strings.HasPrefix(rep.Original.ProbeOutput, "args: world\nHELLO\n1970\n") {
		t.Errorf("original printed %q", rep.Original.ProbeOutput)
	}
	assertSmaller(t, rep, 5)
}

// TestE2ECurlFromImage: curl, dynamically linked against ~30 libraries, is rebuilt from the
// fat image alone: emitted directly with ggcr, and as a Dockerfile built by buildah.
func TestE2ECurlFromImage(t *testing.T) {
	env := e2eenv.Require(t, "podman", "buildah")
	ctx := t.Context()
	fat, err := name.ParseReference(fatRef(t))
	if err != nil {
		t.Fatal(err)
	}
	base, err := remote.Image(fat, remote.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	cf, err := base.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg := cf.Config.DeepCopy()
	cfg.Entrypoint, cfg.Cmd = []string{"curl"}, []string{"--version"}
	curlImg, err := mutate.Config(base, *cfg)
	if err != nil {
		t.Fatal(err)
	}
	curlRef := fmt.Sprintf("%s/imgharden-e2e-rw/curl:%d", env.Registry, os.Getpid())
	ref, _ := name.ParseReference(curlRef)
	if err := remote.Write(ref, curlImg, remote.WithContext(ctx)); err != nil {
		t.Fatal(err)
	}
	dg, err := curlImg.Digest()
	if err != nil {
		t.Fatal(err)
	}
	im, err := rewrite.Inspect(ctx, curlImg, ref.Context().Name(), dg.String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := im.Closure()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("closure: %d files, notes %q", len(c.Opened), c.Notes)
	if len(c.Notes) > 0 {
		t.Errorf("unresolved: %q", c.Notes)
	}
	slim, err := im.Build(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	slimRef := fmt.Sprintf("%s/imgharden-e2e-rw/curl-slim:%d", env.Registry, os.Getpid())
	dst, err := source.Parse(slimRef)
	if err != nil {
		t.Fatal(err)
	}
	if err := source.Write(ctx, slim, dst); err != nil {
		t.Fatal(err)
	}
	// verify pulls both into podman's storage; leave nothing behind.
	t.Cleanup(func() { exec.Command("podman", "rmi", "--force", curlRef, slimRef).Run() })
	probe := "-sS --version"
	for _, tc := range []struct {
		name string
		in   rewrite.VerifyInput
	}{
		{"emitted with ggcr", rewrite.VerifyInput{Image: curlRef, HardenedImage: slimRef, Probe: probe}},
		{"Dockerfile built by buildah", rewrite.VerifyInput{Image: curlRef, Hardened: im.Dockerfile(c), Probe: probe}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := verifyLogged(t, tc.in)
			if !strings.HasPrefix(rep.Original.ProbeOutput, "curl ") {
				t.Errorf("original printed %q", rep.Original.ProbeOutput)
			}
			assertSmaller(t, rep, 5)
		})
	}
}
