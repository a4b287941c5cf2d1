package seccomp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// Podman runs containers with the podman CLI. The zero value runs "podman" from PATH with
// podman's configured OCI runtime; the process environment (CONTAINERS_CONF) passes through.
type Podman struct {
	Path    string // podman executable; default "podman"
	Runtime string // --runtime NAME for every container; "" keeps podman's configured one
}

// RunSpec describes one container run.
type RunSpec struct {
	Image           string
	Command         []string
	Entrypoint      string   // --entrypoint; "" keeps the image's
	SeccompProfile  string   // --security-opt seccomp=PATH (or "unconfined"); "" keeps podman's default
	NoNewPrivileges bool     // --security-opt no-new-privileges
	CapAdd          []string // --cap-add
	Volumes         []string // -v SRC:DST[:OPTS]
	Network         string   // --network; "" keeps podman's default
	Env             []string // -e NAME=VALUE
	ExtraArgs       []string // more podman run flags, placed before the image
}

// RunResult is what one container run did.
type RunResult struct {
	ExitCode int
	Stdout   []byte // the last outputCap bytes
	Stderr   []byte // the last outputCap bytes
	Duration time.Duration
}

const outputCap = 64 << 10

// Args returns the podman arguments for the spec.
func (p *Podman) Args(s RunSpec) []string {
	args := []string{"run", "--rm"}
	if p.Runtime != "" {
		args = append(args, "--runtime", p.Runtime)
	}
	if s.SeccompProfile != "" {
		args = append(args, "--security-opt", "seccomp="+s.SeccompProfile)
	}
	if s.NoNewPrivileges {
		args = append(args, "--security-opt", "no-new-privileges")
	}
	for _, c := range s.CapAdd {
		args = append(args, "--cap-add", c)
	}
	for _, v := range s.Volumes {
		args = append(args, "-v", v)
	}
	if s.Network != "" {
		args = append(args, "--network", s.Network)
	}
	for _, e := range s.Env {
		args = append(args, "-e", e)
	}
	if s.Entrypoint != "" {
		args = append(args, "--entrypoint", s.Entrypoint)
	}
	args = append(args, s.ExtraArgs...)
	args = append(args, s.Image)
	return append(args, s.Command...)
}

// Run runs the container to completion. A non-zero exit of the container is a RunResult, not
// an error; the error is for podman that cannot be started or a cancelled context.
func (p *Podman) Run(ctx context.Context, s RunSpec) (RunResult, error) {
	if s.Image == "" {
		return RunResult{}, errors.New("no image given")
	}
	path := p.Path
	if path == "" {
		path = "podman"
	}
	cmd := exec.CommandContext(ctx, path, p.Args(s)...)
	stdout, stderr := &tailBuffer{max: outputCap}, &tailBuffer{max: outputCap}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	start := time.Now()
	err := cmd.Run()
	res := RunResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), Duration: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return res, fmt.Errorf("podman run %s: %w", s.Image, ctx.Err())
	case errors.As(err, &ee):
		res.ExitCode = ee.ExitCode()
		if res.ExitCode < 0 {
			res.ExitCode = 128 + 9 // killed by a signal
		}
	default:
		return res, fmt.Errorf("running podman: %w", err)
	}
	return res, nil
}

// Summary is a one-line account of a failed run's output: its first and last non-empty lines
// (a Go panic names its cause first, a Python traceback last), each cut to 200 bytes.
func Summary(b []byte) string {
	var first, last string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		if first == "" {
			first = l
		}
		last = l
	}
	cut := func(s string) string {
		if len(s) > 200 {
			return s[:200] + "..."
		}
		return s
	}
	if first == last {
		return cut(first)
	}
	return cut(first) + " ... " + cut(last)
}

// LastLine is the last non-empty line of b, for one-line reports.
func LastLine(b []byte) string {
	b = bytes.TrimRight(b, "\n\r ")
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	return strings.TrimSpace(string(b))
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) Bytes() []byte { return t.buf }
