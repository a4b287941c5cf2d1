//go:build e2e

package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imgharden/imgharden/e2e"
	"github.com/imgharden/imgharden/internal/e2eenv"
	"github.com/imgharden/imgharden/pkg/publish"
)

// run executes the imgharden command tree as the binary would.
func runIH(t testing.TB, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := NewRootCmd("e2e")
	root.SetOut(&out)
	root.SetErr(&errOut)
	code = Execute(context.Background(), root, args)
	return code, out.String(), errOut.String()
}

// skopeoDigest asks skopeo, an independent client, which manifest digest ref names ("" when
// none): the sha256 of the raw manifest it fetches.
func skopeoDigest(t *testing.T, ref string) string {
	t.Helper()
	raw, err := exec.Command("skopeo", "inspect", "--tls-verify=false", "--raw", "docker://"+ref).Output()
	if err != nil {
		return ""
	}
	return fmt.Sprintf("sha256:%x", sha256.Sum256(raw))
}

// TestPushAndPromoteE2E pushes real fixture images (built by buildah from the debootstrap base
// and from scratch) through Debian's distribution registry of the end-to-end set-up, and checks
// the result with skopeo.
func TestPushAndPromoteE2E(t *testing.T) {
	env := e2eenv.Require(t, "podman", "buildah", "skopeo", "go")
	clean := e2e.Fixture(t, e2e.Clean)
	secrets := e2e.Fixture(t, e2e.Secrets)
	run := fmt.Sprintf("run-%d", time.Now().UnixNano())
	repo := env.Registry + "/imgharden-e2e-publish/clean"
	dest := repo + ":" + run

	// 1. First push, from the docker-archive podman saved.
	start := time.Now()
	code, out, errOut := runIH(t, "push", clean.Ref(e2e.DockerArchive), dest)
	if code != ExitOK {
		t.Fatalf("push: exit %d\n%s", code, errOut)
	}
	t.Logf("push %s (docker-archive) took %s: %s", clean.Name, time.Since(start).Round(time.Millisecond), strings.TrimSpace(errOut))
	pushed := strings.TrimSpace(out)
	ref, err := name.NewDigest(pushed, name.Insecure)
	if err != nil || ref.Context().String() != repo {
		t.Fatalf("stdout %q is not %s@sha256:...", out, repo)
	}
	if got := skopeoDigest(t, dest); got != ref.DigestStr() {
		t.Fatalf("skopeo says %s points at %q, imgharden printed %s", dest, got, ref.DigestStr())
	}
	// The registry holds the whole image: skopeo copies it out, verifying every blob.
	if b, err := exec.Command("skopeo", "copy", "--quiet", "--src-tls-verify=false", "docker://"+dest, "oci:"+t.TempDir()+":x").CombinedOutput(); err != nil {
		t.Fatalf("skopeo copy of the pushed image: %v\n%s", err, b)
	}

	// 2. The same image again: success, nothing pushed.
	code, out, errOut = runIH(t, "push", clean.Ref(e2e.DockerArchive), dest)
	if code != ExitOK || strings.TrimSpace(out) != pushed || !strings.Contains(errOut, "nothing pushed") {
		t.Fatalf("re-run: exit %d, stdout %q\n%s", code, out, errOut)
	}

	// 3. Another image to the same tag: refused, both digests printed, the tag unchanged.
	code, _, errOut = runIH(t, "push", secrets.Ref(e2e.OCILayout), dest)
	if code != ExitFindings || !strings.Contains(errOut, ref.DigestStr()) || !strings.Contains(errOut, "IH5004") {
		t.Fatalf("other image: exit %d\n%s", code, errOut)
	}
	if got := skopeoDigest(t, dest); got != ref.DigestStr() {
		t.Fatalf("the tag moved to %s", got)
	}

	// 4. Promote a clean image: pushed, the report attached through the referrers fallback tag
	// (distribution 2.8 has no referrers API), and its SPDX SBOM with it.
	pdest := repo + ":" + run + "-promoted"
	code, out, errOut = runIH(t, "promote", "-f", "json", clean.Ref(e2e.OCILayout), pdest)
	if code != ExitOK {
		t.Fatalf("promote clean: exit %d\n%s\n%s", code, out, errOut)
	}
	var rep struct {
		Image struct{ Ref string } `json:"image"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Image.Ref != clean.Ref(e2e.OCILayout) {
		t.Fatalf("stdout is not the report of %s: %v", clean.Ref(e2e.OCILayout), err)
	}
	pd := skopeoDigest(t, pdest)
	if pd == "" {
		t.Fatal("promote pushed nothing")
	}
	fallback := repo + ":" + strings.Replace(pd, ":", "-", 1)
	raw, err := exec.Command("skopeo", "inspect", "--tls-verify=false", "--raw", "docker://"+fallback).Output()
	if err != nil {
		t.Fatalf("no referrers fallback tag %s: %v", fallback, err)
	}
	if !strings.Contains(string(raw), publish.ReportArtifactType) {
		t.Fatalf("fallback index %s lacks the report: %s", fallback, raw)
	}
	subject, _ := name.NewDigest(repo+"@"+pd, name.Insecure)
	refs, err := publish.Referrers(context.Background(), subject)
	var types []string
	for _, r := range refs {
		types = append(types, r.ArtifactType)
	}
	slices.Sort(types)
	if want := []string{"application/spdx+json", publish.ReportArtifactType}; err != nil || !slices.Equal(types, want) {
		t.Fatalf("referrers of %s: %v (want %v), %v", subject, types, want, err)
	}

	// 5. Promote an image that fails the gate: exit 1, report printed, nothing pushed.
	sdest := repo + ":" + run + "-secrets"
	code, out, errOut = runIH(t, "promote", secrets.Ref(e2e.DockerArchive), sdest)
	if code != ExitFindings || !strings.Contains(out, "IH4001") || !strings.Contains(errOut, "not promoted") {
		t.Fatalf("promote secrets: exit %d\n%s\n%s", code, out, errOut)
	}
	if got := skopeoDigest(t, sdest); got != "" {
		t.Fatalf("a blocked promotion pushed %s", got)
	}
}

// BenchmarkPushE2E pushes the fat-builder fixture from its OCI layout (compressed blobs, so no
// compression is measured) into a fresh repository of the set-up's registry per iteration, with
// one and with four uploads at once, and reports the upload rate.
//
//	go test -tags e2e -run XXX -bench PushE2E -benchtime 3x ./internal/cli
func BenchmarkPushE2E(b *testing.B) {
	env := e2eenv.Require(b, "podman", "buildah", "skopeo", "go")
	fat := e2e.Fixture(b, e2e.FatBuilder)
	img := fat.Open(b, e2e.OCILayout)
	var size int64
	layers, err := img.Layers()
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range layers {
		n, err := l.Size()
		if err != nil {
			b.Fatal(err)
		}
		size += n
	}
	for _, jobs := range []int{1, 4} {
		b.Run(fmt.Sprintf("jobs=%d", jobs), func(b *testing.B) {
			b.SetBytes(size)
			for i := 0; i < b.N; i++ {
				dest := fmt.Sprintf("%s/imgharden-e2e-bench/fat-%d-%d-%d:1", env.Registry, jobs, time.Now().UnixNano(), i)
				code, _, errOut := runIH(b, "push", "--jobs", fmt.Sprint(jobs), fat.Ref(e2e.OCILayout), dest)
				if code != ExitOK {
					b.Fatalf("push: exit %d\n%s", code, errOut)
				}
			}
		})
	}
}
