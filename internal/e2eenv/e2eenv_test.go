package e2eenv

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// recorder stands in for the test that calls Require: it records Skipf and Fatalf and then
// stops the goroutine, as testing.T does.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(f string, args ...any) {
	r.skipped = fmt.Sprintf(f, args...)
	runtime.Goexit()
}
func (r *recorder) Fatalf(f string, args ...any) {
	r.failed = fmt.Sprintf(f, args...)
	runtime.Goexit()
}

// require calls Require on its own goroutine, as a test would.
func require(r *recorder, tools ...string) (env Env) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		env = Require(r, tools...)
	}()
	<-done
	return env
}

func TestRequire(t *testing.T) {
	full := map[string]string{
		"IMGHARDEN_E2E":          "1",
		"CONTAINERS_CONF":        "/repo/.cache/e2e/containers.conf",
		"IMGHARDEN_E2E_REGISTRY": "127.0.0.1:5000",
		"IMGHARDEN_E2E_BASE":     "localhost/debian:bookworm",
		"IMGHARDEN_E2E_DIR":      "/repo/.cache/e2e/work",
		"DOCKER_HOST":            "unix:///repo/.cache/e2e/run/podman.sock",
		"CI":                     "",
	}
	with := func(changes map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range full {
			m[k] = v
		}
		for k, v := range changes {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name        string
		env         map[string]string
		tools       []string
		wantSkip    []string // substrings of the skip message; nil: no skip
		wantFatal   []string // substrings of the fatal message; nil: no failure
		wantEnvDir  string
		wantBaseImg string
	}{
		{name: "ready", env: full, tools: []string{"sh"},
			wantEnvDir: "/repo/.cache/e2e/work", wantBaseImg: "localhost/debian:bookworm"},
		{name: "not sourced skips", env: with(map[string]string{"IMGHARDEN_E2E": ""}),
			wantSkip: []string{"IMGHARDEN_E2E=1", SetupCommand}},
		{name: "not sourced fails on CI", env: with(map[string]string{"IMGHARDEN_E2E": "", "CI": "true"}),
			wantFatal: []string{"IMGHARDEN_E2E=1", SetupCommand}},
		{name: "partial env names the variable", env: with(map[string]string{"IMGHARDEN_E2E_REGISTRY": "", "DOCKER_HOST": ""}),
			wantSkip: []string{"IMGHARDEN_E2E_REGISTRY", "DOCKER_HOST"}},
		{name: "missing tool", env: full, tools: []string{"sh", "imgharden-no-such-tool"},
			wantSkip: []string{"imgharden-no-such-tool"}},
		{name: "missing tool fails on CI", env: with(map[string]string{"CI": "true"}), tools: []string{"imgharden-no-such-tool"},
			wantFatal: []string{"imgharden-no-such-tool"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			r := &recorder{TB: t}
			env := require(r, tt.tools...)
			check := func(kind, got string, want []string) {
				if want == nil {
					if got != "" {
						t.Errorf("unexpected %s: %s", kind, got)
					}
					return
				}
				if got == "" {
					t.Fatalf("no %s, want one mentioning %q", kind, want)
				}
				for _, w := range want {
					if !strings.Contains(got, w) {
						t.Errorf("%s %q does not mention %q", kind, got, w)
					}
				}
			}
			check("skip", r.skipped, tt.wantSkip)
			check("fatal", r.failed, tt.wantFatal)
			if tt.wantSkip == nil && tt.wantFatal == nil {
				if env.Dir != tt.wantEnvDir || env.BaseImage != tt.wantBaseImg || env.DockerHost != full["DOCKER_HOST"] {
					t.Errorf("Require() = %+v", env)
				}
			}
		})
	}
}
