//go:build e2e

package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/imgharden/imgharden/e2e"
)

// buildImgharden builds cmd/imgharden once per test binary (the go build cache makes a
// rebuild a link).
func buildImgharden(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "imgharden")
	start := time.Now()
	cmd := exec.Command("go", "build", "-o", bin, "../../cmd/imgharden")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built imgharden in %.1fs", time.Since(start).Seconds())
	return bin
}

// hasLayerCopies reports whether syft's layer copies are under dir.
func hasLayerCopies(dir string) bool {
	found := false
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(p, string(filepath.Separator)+"layers"+string(filepath.Separator)) {
			found = true
		}
		return nil
	})
	return found
}

// TestSBOMBinaryE2E runs the built command on the fat builder fixture.
func TestSBOMBinaryE2E(t *testing.T) {
	fx := e2e.Fixture(t, e2e.FatBuilder)
	bin := buildImgharden(t)
	t.Run("interrupt", func(t *testing.T) { sbomInterrupt(t, bin, fx) })
	t.Run("scan --sbom from the registry", func(t *testing.T) { scanWithSBOMFromRegistry(t, bin, fx) })
}

// Ctrl-C during `imgharden sbom`: the command stops with a runtime error, writes no SBOM and
// leaves nothing in TMPDIR.
func sbomInterrupt(t *testing.T, bin string, fx *e2e.Image) {
	tmp := t.TempDir()
	out := filepath.Join(t.TempDir(), "fat.spdx.json")
	cmd := exec.Command(bin, "sbom", "-o", out, fx.Ref(e2e.DockerArchive))
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for !hasLayerCopies(tmp) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no layer copies appeared in TMPDIR\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != ExitRuntime {
		t.Errorf("exit: %v, want code %d\n%s", err, ExitRuntime, stderr.String())
	}
	if !strings.Contains(stderr.String(), "context canceled") {
		t.Errorf("stderr does not say the run was cancelled: %q", stderr.String())
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an interrupted run left %s: %v", out, err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("TMPDIR keeps %d entries after Ctrl-C", len(left))
	}
}

// `scan --sbom` from the registry: the report, an SPDX and a CycloneDX SBOM from one run, and
// an empty TMPDIR afterwards.
func scanWithSBOMFromRegistry(t *testing.T, bin string, fx *e2e.Image) {
	tmp := t.TempDir()
	dir := t.TempDir()
	spdx, cdx := filepath.Join(dir, "fat.spdx.json"), filepath.Join(dir, "fat.cdx.json")
	cmd := exec.Command(bin, "scan", "--format", "json", "--fail-on", "none",
		"--sbom", spdx, "--sbom", cdx+"=cyclonedx-json", fx.Ref(e2e.Registry))
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("scan --sbom: %v\n%s", err, stderr.String())
	}
	var rep struct {
		Findings []struct {
			RuleID   string            `json:"ruleID"`
			Message  string            `json:"message"`
			Details  map[string]string `json:"details"`
			Location struct{ Path string }
		} `json:"findings"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report: %v", err)
	}
	owned := 0
	for _, f := range rep.Findings {
		if f.Details["package"] != "" {
			owned++
		}
		if f.RuleID == "IH1004" && f.Location.Path == "/usr/bin/curl" && !strings.HasSuffix(f.Message, "from package curl: apt-get purge -y curl") {
			t.Errorf("curl finding: %q", f.Message)
		}
	}
	if owned == 0 {
		t.Error("no finding names a package")
	}
	for _, c := range []struct{ path, want string }{{spdx, `"spdxVersion": "SPDX-2.3"`}, {cdx, `"bomFormat": "CycloneDX"`}} {
		b, err := os.ReadFile(c.path)
		if err != nil || !bytes.Contains(b, []byte(c.want)) || !bytes.Contains(b, []byte(`"gcc-12"`)) {
			t.Errorf("%s: %v; want %s and gcc-12", c.path, err, c.want)
		}
	}
	if !regexp.MustCompile(`imgharden: sbom: \d+ packages \(deb \d+, python \d+\) → `).MatchString(stderr.String()) {
		t.Errorf("summary: %q", stderr.String())
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("TMPDIR keeps %d entries", len(left))
	}
}
