//go:build e2e

package rewrite_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imgharden/imgharden/e2e"
	"github.com/imgharden/imgharden/internal/e2eenv"
	"github.com/imgharden/imgharden/pkg/rewrite"
)

// buildkitd builds buildkitd from this module's own dependency graph (internal/tools pins
// it) into the e2e cache, starts it as root with the OCI worker and runc, host networking, its
// own --root and unix socket under the cache, and a buildkitd.toml that lets it pull from the
// set-up's plain-HTTP registry. It stops buildkitd and removes its root when the test ends.
func buildkitd(t *testing.T, env e2eenv.Env) string {
	t.Helper()
	root, err := e2e.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(env.Dir, "buildkit")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(cache, "buildkitd")
	start := time.Now()
	build := exec.Command("go", "build", "-o", bin, "github.com/moby/buildkit/cmd/buildkitd")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build buildkitd: %v\n%s", err, out)
	}
	t.Logf("go build buildkitd: %s", time.Since(start).Round(time.Millisecond))

	state, err := os.MkdirTemp(cache, "run-")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(state, "buildkitd.sock")
	if len(sock) > 100 { // AF_UNIX paths are limited to 107 bytes
		d, err := os.MkdirTemp("/run", "imgharden-buildkitd-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		sock = filepath.Join(d, "buildkitd.sock")
	}
	conf := filepath.Join(state, "buildkitd.toml")
	toml := fmt.Sprintf("# imgharden e2e: the set-up's registry speaks plain HTTP on loopback.\n[registry.%q]\n  http = true\n  insecure = true\n", env.Registry)
	if err := os.WriteFile(conf, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(state, "buildkitd.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	addr := "unix://" + sock
	// runc puts build containers under a "buildkit" cgroup in every hierarchy and leaves the
	// parent behind; remove the ones this buildkitd created (rmdir fails on one still in use).
	cgroups, _ := filepath.Glob("/sys/fs/cgroup/*/buildkit")
	if len(cgroups) == 0 {
		if _, err := os.Stat("/sys/fs/cgroup/buildkit"); err != nil {
			t.Cleanup(func() {
				created, _ := filepath.Glob("/sys/fs/cgroup/*/buildkit")
				created = append(created, "/sys/fs/cgroup/buildkit")
				for _, d := range created {
					os.Remove(d)
				}
			})
		}
	}
	cmd := exec.Command(bin, "--config", conf, "--root", filepath.Join(state, "root"), "--addr", addr,
		"--oci-worker=true", "--containerd-worker=false", "--oci-worker-binary=runc", "--oci-worker-net=host")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("buildkitd log (%s):\n%s", logPath, tail(string(b), 40))
		}
		if err := os.RemoveAll(state); err != nil {
			t.Errorf("removing buildkitd's state: %v", err)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("buildkitd exited: %v\n%s", err, tail(string(b), 40))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("buildkitd did not listen on %s within 30s\n%s", sock, tail(string(b), 40))
		}
	}
	t.Logf("buildkitd listening on %s after %s", addr, time.Since(start).Round(time.Millisecond))
	return addr
}

func tail(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// TestE2EBuildKitVerify: a shell-script app COPYed into the fat toolchain fixture (which
// the local registry serves, so buildkitd can pull it) is rewritten, and verify builds both
// the original and the hardened Dockerfile with buildkitd (buildah is made unrunnable for
// verify), loads them into podman, runs the probe and measures.
func TestE2EBuildKitVerify(t *testing.T) {
	env := e2eenv.Require(t, "podman", "buildah", "skopeo", "go", "runc")
	base := fatRef(t)
	addr := buildkitd(t, env)
	noBuildah := filepath.Join(t.TempDir(), "buildah-must-not-run")

	t.Run("shell script app", func(t *testing.T) {
		dir := t.TempDir()
		script := "#!/bin/sh\nset -e\necho \"args: $*\"\necho hello | tr a-z A-Z\ndate -u -d @0 +%Y\nls /app | sort\n"
		if err := os.WriteFile(filepath.Join(dir, "app.sh"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		df := fmt.Sprintf("FROM %s\nCOPY app.sh /app/app.sh\nENTRYPOINT [\"/app/app.sh\"]\n", base)
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
			t.Fatal(err)
		}
		im := inspectBuilt(t, dir, fmt.Sprintf("localhost/imgharden-e2e-bk/sh:%d", os.Getpid()))
		out := rewriteFile(t, dir, im)
		if !strings.Contains(string(out), "FROM scratch") {
			t.Fatalf("no scratch final stage:\n%s", out)
		}
		var log strings.Builder
		start := time.Now()
		rep, err := rewrite.Verify(t.Context(), rewrite.VerifyInput{Dockerfile: filepath.Join(dir, "Dockerfile"),
			Original: []byte(df), Hardened: out, Probe: "world", BuildKitAddr: addr, Buildah: noBuildah, Log: &log})
		if err != nil {
			t.Fatalf("verify: %v\n%s", err, log.String())
		}
		var txt strings.Builder
		rep.WriteText(&txt)
		t.Logf("verify with BuildKit (%s):\n%s", time.Since(start).Round(time.Millisecond), txt.String())
		t.Logf("verify log:\n%s", log.String())
		if n := strings.Count(log.String(), "verify: buildkit "+addr+": build "); n != 2 {
			t.Errorf("%d BuildKit builds in the log, want 2", n)
		}
		if !rep.ProbeEqual {
			t.Errorf("probe differs: original exit %d %q, hardened exit %d %q", rep.Original.ProbeExit,
				rep.Original.ProbeOutput, rep.Hardened.ProbeExit, rep.Hardened.ProbeOutput)
		}
		if !strings.HasPrefix(rep.Original.ProbeOutput, "args: world\nHELLO\n1970\napp.sh\n") {
			t.Errorf("original printed %q", rep.Original.ProbeOutput)
		}
		if len(rep.Hardened.SetuidFiles) != 0 {
			t.Errorf("hardened image has setuid files %v", rep.Hardened.SetuidFiles)
		}
		assertSmaller(t, rep, 5)
	})

	t.Run("failing build", func(t *testing.T) {
		dir := t.TempDir()
		df := fmt.Sprintf("FROM %s\nRUN echo step-$((20+22)) && exit 3\n", base)
		_, err := rewrite.Verify(t.Context(), rewrite.VerifyInput{Dockerfile: filepath.Join(dir, "Dockerfile"),
			Original: []byte(df), Hardened: []byte(df), BuildKitAddr: addr, Buildah: noBuildah})
		if err == nil {
			t.Fatal("a RUN that exits 3 built")
		}
		msg := err.Error()
		t.Logf("error: %s", msg)
		for _, want := range []string{"building the original: buildkitd at " + addr, "exit code: 3", "(output: step-42)"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error lacks %q", want)
			}
		}
		if strings.Contains(msg, "\n") {
			t.Errorf("error is not one line: %q", msg)
		}
	})

	t.Run("FROM that buildkitd cannot pull", func(t *testing.T) {
		dir := t.TempDir()
		df := "FROM " + env.Registry + "/imgharden-e2e-bk/no-such-image:1\n"
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		_, err := rewrite.Verify(ctx, rewrite.VerifyInput{Dockerfile: filepath.Join(dir, "Dockerfile"),
			Original: []byte(df), Hardened: []byte(df), BuildKitAddr: addr, Buildah: noBuildah})
		if err == nil || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want buildkitd's pull error", err)
		}
		msg := err.Error()
		t.Logf("error: %s", msg)
		if !strings.Contains(msg, "buildkitd at "+addr) || !strings.Contains(msg, "no-such-image") || strings.Contains(msg, "\n") {
			t.Errorf("error %q: want one line naming buildkitd's address and the image", msg)
		}
	})
}
