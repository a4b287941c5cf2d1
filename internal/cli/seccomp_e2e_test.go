//go:build e2e

package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/imgharden/imgharden/internal/e2eenv"
	"github.com/imgharden/imgharden/pkg/seccomp"
)

const (
	e2eWorkloadDir   = "../../testdata/seccomp/e2e"
	e2eWorkloadImage = "localhost/imgharden-seccomp-e2e:bookworm"
)

// buildWorkloadImage builds the base image + strace + python3 (cached by buildah's layers).
func buildWorkloadImage(t *testing.T, env e2eenv.Env) string {
	t.Helper()
	start := time.Now()
	cmd := exec.Command("buildah", "bud", "--layers", "--network", "host", "-q",
		"--build-arg", "BASE="+env.BaseImage, "-t", e2eWorkloadImage,
		"-f", filepath.Join(e2eWorkloadDir, "Dockerfile"), e2eWorkloadDir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("buildah bud: %v\n%s", err, out)
	}
	t.Logf("workload image %s ready in %.1fs", e2eWorkloadImage, time.Since(start).Seconds())
	return e2eWorkloadImage
}

// buildGoWorkload builds testdata/seccomp/e2e/gothreads as a static binary.
func buildGoWorkload(t *testing.T) string {
	t.Helper()
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		if gobin, err = exec.LookPath("go"); err != nil {
			t.Fatal("no go toolchain to build the Go workload")
		}
	}
	out := filepath.Join(t.TempDir(), "gothreads")
	src, err := filepath.Abs(filepath.Join(e2eWorkloadDir, "gothreads", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(gobin, "build", "-trimpath", "-o", out, src)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build gothreads: %v\n%s", err, b)
	}
	return out
}

var runsPassed = regexp.MustCompile(`verify: (\d+)/(\d+) runs passed`)

// TestSeccompProofE2E is the proof the issue asks for: for real workloads, trace → generate →
// 10 runs under podman with the profile, all pass; the profile refuses a call outside it; and
// with one syscall the workload needs removed, the workload fails.
func TestSeccompProofE2E(t *testing.T) {
	env := e2eenv.Require(t, "podman", "buildah")
	image := buildWorkloadImage(t, env)
	gothreads := buildGoWorkload(t)

	workloads := []struct {
		name    string
		cmd     []string
		volumes []string
		nnp     bool
		remove  string // a syscall the workload needs
		failure string // what the broken run prints
	}{
		{name: "ls", cmd: []string{"ls", "-la", "/etc"}, remove: "statx", failure: "cannot access"},
		{name: "ls-no-new-privileges", cmd: []string{"ls", "-la", "/etc"}, nnp: true, remove: "readlink",
			failure: "cannot read symbolic link"},
		{name: "python3-http-once", cmd: []string{"python3", "/usr/local/lib/imgharden-e2e/http_once.py"},
			remove: "socket", failure: "PermissionError"},
		{name: "go-threads", cmd: []string{"/gothreads"}, volumes: []string{gothreads + ":/gothreads:ro"},
			remove: "clone", failure: "failed to create new OS thread"},
	}
	for _, w := range workloads {
		t.Run(w.name, func(t *testing.T) {
			dir := t.TempDir()
			common := []string{"--network", "none"}
			for _, v := range w.volumes {
				common = append(common, "-v", v)
			}
			if w.nnp {
				common = append(common, "--no-new-privileges")
			}

			// 1. trace inside the container, write the log and the profile.
			start := time.Now()
			out, errOut, code := run(t, "", append(append(append([]string{"seccomp", "record", "--image", image, "-o", dir}, common...), "--"), w.cmd...)...)
			if code != 0 {
				t.Fatalf("record: exit %d\n%s%s", code, out, errOut)
			}
			logPath, profPath := filepath.Join(dir, seccomp.RecordLogName), filepath.Join(dir, seccomp.RecordProfileName)
			t.Logf("recorded in %.1fs: %s", time.Since(start).Seconds(), strings.TrimSpace(out))

			// 2. generate from the log gives the same profile record wrote.
			genArgs := []string{"seccomp", "generate", logPath}
			if w.nnp {
				genArgs = append(genArgs, "--no-new-privileges")
			}
			gen, errOut, code := run(t, "", genArgs...)
			recorded, err := os.ReadFile(profPath)
			if err != nil || code != 0 || gen != string(recorded) {
				t.Fatalf("generate %s: exit %d %v %s; differs from record's profile: %v", logPath, code, err, errOut, gen != string(recorded))
			}
			prof, err := readProfileFile(profPath)
			if err != nil {
				t.Fatal(err)
			}
			if a, _, _ := prof.Lookup(w.remove); a != seccomp.ActAllow {
				t.Fatalf("the profile does not allow %s, which the workload needs", w.remove)
			}

			// 3. ten runs under the profile, all pass; a call outside it is refused.
			start = time.Now()
			verify := append(append([]string{"seccomp", "verify", "--profile", profPath, "--image", image, "--runs", "10",
				"--expect-deny", "mount", "--expect-deny", "unshare"}, common...), "--")
			out, errOut, code = run(t, "", append(verify, w.cmd...)...)
			if code != 0 {
				t.Fatalf("verify: exit %d\n%s%s", code, out, errOut)
			}
			m := runsPassed.FindStringSubmatch(out)
			if m == nil || m[1] != "10" || m[2] != "10" {
				t.Fatalf("verify output:\n%s", out)
			}
			t.Logf("%s under its profile (%d syscalls allowed) in %.1fs: %s", w.name, len(prof.Syscalls[0].Names),
				time.Since(start).Seconds(), lastLine(out))

			// 4. remove one syscall the workload needs: it fails.
			broken := filepath.Join(dir, "without-"+w.remove+".json")
			if err := writeOutput(nil, broken, prof.Without(w.remove).WriteJSON); err != nil {
				t.Fatal(err)
			}
			brokenVerify := append(append([]string{"seccomp", "verify", "--profile", broken, "--image", image, "--runs", "1"}, common...), "--")
			out, errOut, code = run(t, "", append(brokenVerify, w.cmd...)...)
			if code != 1 || !strings.Contains(out, "run 1/1: FAIL") || !strings.Contains(out, w.failure) {
				t.Fatalf("without %s: exit %d, want 1 and a failure mentioning %q\n%s%s", w.remove, code, w.failure, out, errOut)
			}
			t.Logf("without %s: %s", w.remove, firstLine(out))
		})
	}

	// Recorded on the host (same Debian release as the image), run in the container.
	t.Run("host-record", func(t *testing.T) {
		if _, err := exec.LookPath("strace"); err != nil {
			t.Skip("no strace on the host")
		}
		dir := t.TempDir()
		if out, errOut, code := run(t, "", "seccomp", "record", "-o", dir, "--", "ls", "-la", "/etc"); code != 0 {
			t.Fatalf("record on the host: exit %d %s%s", code, out, errOut)
		}
		out, errOut, code := run(t, "", "seccomp", "verify", "--profile", filepath.Join(dir, seccomp.RecordProfileName),
			"--image", image, "--network", "none", "--runs", "3", "--", "ls", "-la", "/etc")
		if code != 0 {
			t.Fatalf("verify: exit %d\n%s%s", code, out, errOut)
		}
		t.Logf("host trace, container runs: %s", lastLine(out))
	})

	// The runtime's own calls are needed: a profile of the traced calls alone stops the
	// container from starting.
	t.Run("runtime-calls-needed", func(t *testing.T) {
		dir := t.TempDir()
		if _, errOut, code := run(t, "", "seccomp", "record", "--image", image, "--network", "none", "-o", dir, "--", "true"); code != 0 {
			t.Fatalf("record: %s", errOut)
		}
		bare := filepath.Join(dir, "bare.json")
		if _, errOut, code := run(t, "", "seccomp", "generate", "--runtime", "none", "-o", bare, filepath.Join(dir, seccomp.RecordLogName)); code != 0 {
			t.Fatalf("generate: %s", errOut)
		}
		// Control: the same trace with the runtime's calls runs.
		out, errOut, code := run(t, "", "seccomp", "verify", "--profile", filepath.Join(dir, seccomp.RecordProfileName),
			"--image", image, "--network", "none", "--runs", "1", "--", "true")
		if code != 0 {
			t.Fatalf("control profile failed: %s%s", out, errOut)
		}
		out, _, code = run(t, "", "seccomp", "verify", "--profile", bare, "--image", image, "--network", "none", "--runs", "1", "--", "true")
		if code != 1 {
			t.Fatalf("a profile without runc's calls ran the container: %s", out)
		}
		t.Logf("without runc's calls: %s", firstLine(out))
	})
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

func lastLine(s string) string { return seccomp.LastLine([]byte(s)) }
