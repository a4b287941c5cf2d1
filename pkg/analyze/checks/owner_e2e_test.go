//go:build e2e

package checks

import (
	"bytes"
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/imgharden/imgharden/e2e"
	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
	"github.com/imgharden/imgharden/pkg/source"
)

// aliases returns p and its merged-/usr twin (/usr/bin/x ↔ /bin/x): dpkg -S matches paths as
// the packages list them.
func aliases(p string) []string {
	for _, d := range []string{"/bin/", "/sbin/", "/lib/"} {
		if rest, ok := strings.CutPrefix(p, "/usr"+d); ok {
			return []string{p, d + rest}
		}
		if rest, ok := strings.CutPrefix(p, d); ok {
			return []string{p, "/usr" + d + rest}
		}
	}
	return []string{p}
}

// dpkgOwners asks dpkg -S inside the image who owns each path; paths no package lists are absent.
func dpkgOwners(t *testing.T, image string, paths []string) map[string]string {
	t.Helper()
	script := `for p in "$@"; do dpkg -S "$p" 2>/dev/null | grep -v '^diversion by' | grep -F ": $p" | head -1; done`
	cmd := exec.Command("podman", append([]string{"run", "--rm", "--network", "none", image, "sh", "-c", script, "sh"}, paths...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("podman run dpkg -S: %v\n%s", err, stderr.String())
	}
	owners := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		names, p, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		var pkgs []string
		for _, n := range strings.Split(names, ", ") {
			pkgs = append(pkgs, strings.Split(n, ":")[0]) // libc6:amd64 → libc6
		}
		slices.Sort(pkgs)
		owners[p] = strings.Join(pkgs, ", ")
	}
	return owners
}

// On the fat builder, the package each shell, network tool, package manager and compiler
// finding names is the one dpkg -S names inside the same image.
func TestPackageOwnersMatchDpkgE2E(t *testing.T) {
	fx := e2e.Fixture(t, e2e.FatBuilder)
	ref, err := source.Parse(fx.Ref(e2e.DockerArchive))
	if err != nil {
		t.Fatal(err)
	}
	img, err := source.Open(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	res, err := analyze.New(analyze.WithChecks(shell{}, networkTool{}, packageManager{}, compiler{})).Run(context.Background(), img.Image)
	if err != nil {
		t.Fatal(err)
	}
	var fs []finding.Finding
	var ask []string
	for _, f := range res.Findings {
		if f.RuleID == analyze.RuleCheckFailed.ID {
			t.Fatalf("check failed: %s", f.Message)
		}
		fs = append(fs, f)
		ask = append(ask, aliases(f.Location.Path)...)
		ask = append(ask, aliases(f.Details["resolvesTo"])...)
	}
	owners := dpkgOwners(t, fx.Local, ask)
	rules := map[string]bool{}
	for _, f := range fs {
		want := ""
		for _, p := range append(aliases(f.Location.Path), aliases(f.Details["resolvesTo"])...) {
			if o, ok := owners[p]; ok {
				want = o
				break
			}
		}
		if want == "" {
			t.Errorf("%s %s: dpkg -S knows no owner; the test fixture should only plant packaged tools", f.RuleID, f.Location.Path)
			continue
		}
		if got := f.Details["package"]; got != want {
			t.Errorf("%s %s: package %q, dpkg -S says %q (%s)", f.RuleID, f.Location.Path, got, want, f.Message)
		}
		if !strings.Contains(f.Message, "from package") || f.Details["remove"] == "" {
			t.Errorf("%s %s: message or remove command missing: %q %v", f.RuleID, f.Location.Path, f.Message, f.Details)
		}
		rules[f.RuleID] = true
	}
	for _, r := range []*finding.Rule{RuleShell, RuleNetworkTool, RulePackageManager, RuleCompiler} {
		if !rules[r.ID] {
			t.Errorf("no %s finding on the fat builder", r.ID)
		}
	}
	t.Logf("%d findings, each owner confirmed by dpkg -S", len(fs))
}

// busybox on scratch has no package database: no finding names a package.
func TestNoPackageDatabaseE2E(t *testing.T) {
	fx := e2e.Fixture(t, e2e.Busybox)
	ref, err := source.Parse(fx.Ref(e2e.OCILayout))
	if err != nil {
		t.Fatal(err)
	}
	img, err := source.Open(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	res, err := analyze.New(analyze.WithChecks(shell{}, networkTool{})).Run(context.Background(), img.Image)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) == 0 {
		t.Fatal("no shell or network tool findings on busybox")
	}
	for _, f := range res.Findings {
		if _, ok := f.Details["packageManager"]; ok || strings.Contains(f.Message, "package") {
			t.Errorf("%s %s names a package: %q %v", f.RuleID, f.Location.Path, f.Message, f.Details)
		}
	}
}
