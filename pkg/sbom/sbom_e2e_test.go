//go:build e2e

package sbom_test

import (
	"bytes"
	"context"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/imgharden/imgharden/e2e"
	"github.com/imgharden/imgharden/pkg/sbom"
	"github.com/imgharden/imgharden/pkg/source"
)

// debianFixtures are the fixtures built FROM the debootstrap Debian base.
var debianFixtures = []string{e2e.FatBuilder, e2e.Secrets, e2e.Perms}

// podmanOut runs a command in the image with podman and returns its stdout.
func podmanOut(t *testing.T, image, script string) string {
	t.Helper()
	cmd := exec.Command("podman", "run", "--rm", "--network", "none", image, "sh", "-c", script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("podman run %s %q: %v\n%s", image, script, err, stderr.String())
	}
	return string(out)
}

func generate(t *testing.T, ref string) *sbom.SBOM {
	t.Helper()
	r, err := source.Parse(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := source.Open(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	s, err := sbom.Generate(t.Context(), img.Image, sbom.WithName(ref), sbom.WithManifestDigest(img.ManifestDigest))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The deb packages in the SBOM are exactly what dpkg inside the same image calls installed.
func TestDebianPackageCountsMatchDpkg(t *testing.T) {
	for _, name := range debianFixtures {
		t.Run(name, func(t *testing.T) {
			fx := e2e.Fixture(t, name)
			countOut := strings.TrimSpace(podmanOut(t, fx.Local, "dpkg -l | grep -c ^ii"))
			want, err := strconv.Atoi(countOut)
			if err != nil || want < 50 {
				t.Fatalf("dpkg -l | grep -c ^ii = %q: not a plausible package count", countOut)
			}
			var wantNames []string
			for _, l := range strings.Split(podmanOut(t, fx.Local, "dpkg -l | awk '/^ii/ {print $2}'"), "\n") {
				if l = strings.TrimSpace(l); l != "" {
					wantNames = append(wantNames, strings.Split(l, ":")[0]) // libc6:amd64 → libc6
				}
			}
			slices.Sort(wantNames)

			s := generate(t, fx.Ref(e2e.DockerArchive))
			var got []string
			for _, p := range s.Packages() {
				if p.Type == "deb" {
					got = append(got, p.Name)
				}
			}
			slices.Sort(got)
			t.Logf("%s: dpkg -l says %d installed, the SBOM lists %d deb packages (%d packages of all types: %v)",
				name, want, len(got), len(s.Packages()), s.Counts())
			if len(got) != want {
				t.Errorf("SBOM lists %d deb packages, dpkg -l | grep -c ^ii says %d", len(got), want)
			}
			if !slices.Equal(got, wantNames) {
				t.Errorf("package names differ:\n only in the SBOM: %q\n only in dpkg:     %q", minus(got, wantNames), minus(wantNames, got))
			}
		})
	}
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// Every SPDX and CycloneDX document made from a fixture validates against its schema.
func TestFixtureDocumentsValidate(t *testing.T) {
	for _, name := range []string{e2e.FatBuilder, e2e.Busybox, e2e.Clean} {
		t.Run(name, func(t *testing.T) {
			fx := e2e.Fixture(t, name)
			s := generate(t, fx.Ref(e2e.DockerArchive))
			for _, f := range []sbom.Format{sbom.SPDXJSON, sbom.CycloneDXJSON} {
				var buf bytes.Buffer
				if err := s.Encode(&buf, f); err != nil {
					t.Fatal(err)
				}
				if err := validate(t, f, buf.Bytes()); err != nil {
					t.Errorf("%s of %s does not validate: %v", f, name, err)
				}
			}
		})
	}
}

// The same image read through every input form gives the same packages.
func TestInputFormsAgree(t *testing.T) {
	fx := e2e.Fixture(t, e2e.Perms)
	var first []sbom.Package
	for _, tr := range []e2e.Transport{e2e.DockerArchive, e2e.OCIArchive, e2e.OCILayout, e2e.Registry} {
		t.Run(string(tr), func(t *testing.T) {
			pkgs := generate(t, fx.Ref(tr)).Packages()
			if len(pkgs) == 0 {
				t.Fatal("no packages")
			}
			if first == nil {
				first = pkgs
				return
			}
			if len(pkgs) != len(first) {
				t.Fatalf("%d packages, %s gave %d", len(pkgs), e2e.DockerArchive, len(first))
			}
			for i := range pkgs {
				if pkgs[i].Name != first[i].Name || pkgs[i].Version != first[i].Version || pkgs[i].Type != first[i].Type {
					t.Fatalf("package %d: %+v, %s gave %+v", i, pkgs[i], e2e.DockerArchive, first[i])
				}
			}
		})
	}
}
