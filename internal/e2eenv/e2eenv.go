// Package e2eenv gives end-to-end tests the environment that scripts/e2e-setup.sh prepares:
// podman with the project's containers.conf, the debootstrap base image and a local registry.
//
// The set-up script writes .cache/e2e/env (shell exports); `make test` and `.ci/run` source it
// before running `go test -tags e2e`. Outside CI a missing prerequisite skips the test; on CI
// (CI=true) it fails, naming the set-up command, so a broken set-up is never a silent green.
package e2eenv

import (
	"os"
	"os/exec"
	"testing"
)

// SetupCommand is the command that prepares everything the end-to-end tests need.
const SetupCommand = "scripts/e2e-setup.sh (or: make e2e-setup)"

// Env is what the set-up script exported.
type Env struct {
	ContainersConf string // CONTAINERS_CONF
	Registry       string // IMGHARDEN_E2E_REGISTRY, host:port of the distribution registry on 127.0.0.1
	BaseImage      string // IMGHARDEN_E2E_BASE, e.g. localhost/debian:bookworm in podman's storage
	Dir            string // IMGHARDEN_E2E_DIR, scratch directory owned by the set-up (fixture archives etc.)
	DockerHost     string // DOCKER_HOST, podman's Docker-compatible API socket (unix://...)
}

// Require returns the environment or stops the test: Fatal on CI, Skip elsewhere.
// tools lists executables the test needs on PATH (podman, buildah, strace, ...).
func Require(t testing.TB, tools ...string) Env {
	t.Helper()
	env := Env{
		ContainersConf: os.Getenv("CONTAINERS_CONF"),
		Registry:       os.Getenv("IMGHARDEN_E2E_REGISTRY"),
		BaseImage:      os.Getenv("IMGHARDEN_E2E_BASE"),
		Dir:            os.Getenv("IMGHARDEN_E2E_DIR"),
		DockerHost:     os.Getenv("DOCKER_HOST"),
	}
	var missing []string
	if os.Getenv("IMGHARDEN_E2E") != "1" {
		missing = append(missing, "IMGHARDEN_E2E=1 (set-up not sourced)")
	} else {
		// A partial or stale env file: name each variable the set-up should have written.
		for _, v := range []struct{ name, value string }{
			{"CONTAINERS_CONF", env.ContainersConf},
			{"IMGHARDEN_E2E_REGISTRY", env.Registry},
			{"IMGHARDEN_E2E_BASE", env.BaseImage},
			{"IMGHARDEN_E2E_DIR", env.Dir},
			{"DOCKER_HOST", env.DockerHost},
		} {
			if v.value == "" {
				missing = append(missing, v.name)
			}
		}
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		msg := "end-to-end prerequisites missing: %v; run " + SetupCommand + " and source .cache/e2e/env"
		if os.Getenv("CI") == "true" {
			t.Fatalf(msg, missing)
		}
		t.Skipf(msg, missing)
	}
	return env
}
