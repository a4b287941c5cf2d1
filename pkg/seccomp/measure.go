package seccomp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// RuntimeMeasurement is what a container runtime itself calls after it installed the seccomp
// filter, up to and including the execve of the workload, measured on a real container.
type RuntimeMeasurement struct {
	Runtime         string // "runc", "crun"
	Version         string // first line of the runtime's version, as podman reports it
	Podman          string // podman version
	NoNewPrivileges bool
	Runs            int
	Counts          map[string]int // syscall → number of runs that made it (x86_64)
}

// Names lists every syscall seen in any run, sorted.
func (m *RuntimeMeasurement) Names() []string {
	out := make([]string, 0, len(m.Counts))
	for n := range m.Counts {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// measureWorkload is the program the measuring container runs; its own calls are told apart
// from the runtime's by the exe the kernel reports.
const measureWorkload = "/usr/bin/true"

// MeasureRuntime runs image with a profile whose default action is SCMP_ACT_LOG and reads
// the kernel's seccomp audit records (see ListenAudit): every call the runtime's init process
// makes once the filter is in place is logged, under the container's host PID and the
// runtime's exe, until the execve of /usr/bin/true replaces it. It needs root (CAP_AUDIT_READ)
// and an image that has /usr/bin/true.
func MeasureRuntime(ctx context.Context, pm *Podman, image string, nnp bool, runs int) (*RuntimeMeasurement, error) {
	if runs < 1 {
		runs = 1
	}
	dir, err := os.MkdirTemp("", "imgharden-measure-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	profile := filepath.Join(dir, "log-all.json")
	logAll := &Profile{DefaultAction: ActLog, Architectures: []string{X8664.Arch()}, Syscalls: []Rule{}}
	f, err := os.Create(profile)
	if err != nil {
		return nil, err
	}
	if err := logAll.WriteJSON(f); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	m := &RuntimeMeasurement{NoNewPrivileges: nnp, Runs: runs, Counts: map[string]int{}}
	m.Runtime, m.Version, m.Podman, err = runtimeVersion(ctx, pm)
	if err != nil {
		return nil, err
	}
	for i := 0; i < runs; i++ {
		names, err := measureOnce(ctx, pm, image, profile, nnp)
		if err != nil {
			return nil, fmt.Errorf("measuring run %d: %w", i+1, err)
		}
		for _, n := range names {
			m.Counts[n]++
		}
	}
	return m, nil
}

func measureOnce(ctx context.Context, pm *Podman, image, profile string, nnp bool) ([]string, error) {
	l, err := ListenAudit()
	if err != nil {
		return nil, err
	}
	defer l.Close()
	res, err := pm.Run(ctx, RunSpec{Image: image, Command: []string{measureWorkload}, SeccompProfile: profile,
		NoNewPrivileges: nnp, Network: "none"})
	if err != nil {
		return nil, err
	}
	if res.ExitCode != 0 {
		return nil, fmt.Errorf("container exited %d: %s", res.ExitCode, LastLine(res.Stderr))
	}
	l.Settle(300*time.Millisecond, 5*time.Second)
	recs := l.Records()
	// The workload's PID: the process that ran /usr/bin/true under the logging filter.
	pid := 0
	for _, r := range recs {
		if r.Exe == measureWorkload {
			if pid != 0 && r.PID != pid {
				return nil, errors.New("two processes ran " + measureWorkload + " under the logging profile at once")
			}
			pid = r.PID
		}
	}
	if pid == 0 {
		return nil, fmt.Errorf("no audit record from %s (%d records seen): is seccomp logging (%s) enabled?",
			measureWorkload, len(recs), "/proc/sys/kernel/seccomp/actions_logged")
	}
	seen := map[string]bool{}
	for _, r := range recs {
		if r.PID != pid || r.Exe == measureWorkload {
			continue
		}
		n, ok := r.Name()
		if !ok {
			return nil, fmt.Errorf("audit record with unknown syscall %d (arch %#x)", r.Syscall, r.Arch)
		}
		seen[n] = true
	}
	if !seen["execve"] {
		return nil, errors.New("the runtime's execve of the workload was not logged: records were lost")
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// runtimeVersion asks podman which OCI runtime it uses.
func runtimeVersion(ctx context.Context, pm *Podman) (name, version, podman string, err error) {
	path := pm.Path
	if path == "" {
		path = "podman"
	}
	args := []string{"info", "--format", "{{.Host.OCIRuntime.Name}}\t{{.Host.OCIRuntime.Version}}"}
	if pm.Runtime != "" {
		args = append([]string{"--runtime", pm.Runtime}, args...)
	}
	out, err := exec.CommandContext(ctx, path, args...).Output()
	if err != nil {
		return "", "", "", fmt.Errorf("podman info: %w", err)
	}
	name, version, _ = strings.Cut(string(out), "\t")
	version, _, _ = strings.Cut(version, "\n")
	pv, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		return "", "", "", fmt.Errorf("podman --version: %w", err)
	}
	return strings.TrimSpace(name), strings.TrimSpace(version), strings.TrimSpace(string(pv)), nil
}
