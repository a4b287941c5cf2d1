// Package archtest checks the import graph with go list: which packages may depend on what.
package archtest

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const module = "github.com/imgharden/imgharden"

// syftAllowed are the packages whose builds and tests may compile syft: pkg/sbom, which
// wraps it, and the command that offers the sbom verb.
var syftAllowed = map[string]bool{
	module + "/pkg/sbom":      true,
	module + "/internal/cli":  true,
	module + "/cmd/imgharden": true,
}

// pkgInfo is one line of go list: a package (or a test variant of one), what it imports
// directly and everything it depends on.
type pkgInfo struct {
	path, base string
	imports    []string
	deps       []string
	standard   bool
}

func goList(t *testing.T, tags string) []pkgInfo {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	args := []string{"list", "-test", "-f", "{{.ImportPath}}\t{{join .Imports \" \"}}\t{{join .Deps \" \"}}\t{{.Standard}}"}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	cmd := exec.Command("go", append(args, "./...")...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkgInfo
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			t.Fatalf("go list line %q", line)
		}
		p := pkgInfo{path: f[0], imports: strings.Fields(f[1]), deps: strings.Fields(f[2]), standard: f[3] == "true"}
		// "x [x.test]", "x_test [x.test]" and "x.test" are test variants of x.
		p.base, _, _ = strings.Cut(p.path, " ")
		p.base = strings.TrimSuffix(strings.TrimSuffix(p.base, ".test"), "_test")
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestSyftStaysInPkgSbom(t *testing.T) {
	for _, tags := range []string{"", "e2e"} {
		t.Run("tags="+tags, func(t *testing.T) {
			pkgs := goList(t, tags)
			sawSbom := false
			for _, p := range pkgs {
				if p.path == module+"/pkg/sbom" {
					// The listing must show syft where it is, or a clean result proves nothing.
					for _, d := range p.deps {
						sawSbom = sawSbom || strings.HasPrefix(d, "github.com/anchore/syft/")
					}
				}
				for _, imp := range p.imports {
					if strings.HasPrefix(imp, "github.com/anchore/") && p.base != module+"/pkg/sbom" {
						t.Errorf("%s imports %s: only pkg/sbom may import syft", p.path, imp)
					}
				}
				if syftAllowed[p.base] {
					continue
				}
				for _, d := range p.deps {
					if strings.HasPrefix(d, "github.com/anchore/") {
						t.Errorf("%s depends on %s: building or testing it would compile syft", p.path, d)
						break
					}
				}
			}
			if !sawSbom {
				t.Fatal("go list does not show syft among pkg/sbom's dependencies: the check looked at the wrong listing")
			}
		})
	}
}

// pkg/pkgdb feeds the scan's package owners and must stay light: standard library only.
func TestPkgdbIsStandardLibraryOnly(t *testing.T) {
	for _, p := range goList(t, "") {
		if p.path != module+"/pkg/pkgdb" {
			continue
		}
		for _, d := range p.deps {
			if !strings.Contains(strings.Split(d, "/")[0], ".") {
				continue // standard library
			}
			t.Errorf("pkg/pkgdb depends on %s", d)
		}
		return
	}
	t.Fatal("go list did not list pkg/pkgdb")
}
