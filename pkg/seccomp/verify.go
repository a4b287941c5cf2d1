package seccomp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// VerifyOptions says how to verify a profile.
type VerifyOptions struct {
	Profile    string  // path of the profile file
	Run        RunSpec // the workload; SeccompProfile is set by Verify
	Runs       int     // how many times to run it (default 10)
	ExpectDeny []string
	// Progress, if set, is called after each run and check.
	Progress func(VerifyRun)
}

// VerifyRun is one run of the workload, or one --expect-deny check.
type VerifyRun struct {
	Kind     string // "run" or "deny"
	N        int    // 1-based run number (runs only)
	Syscall  string // the call checked (deny checks only)
	OK       bool
	ExitCode int
	Duration time.Duration
	Detail   string // why it failed, or what the probe saw
}

// VerifyReport is the outcome of Verify.
type VerifyReport struct {
	Runs   []VerifyRun
	Denies []VerifyRun
}

// Passed reports whether every run succeeded and every expected denial happened.
func (r *VerifyReport) Passed() bool {
	for _, x := range append(append([]VerifyRun(nil), r.Runs...), r.Denies...) {
		if !x.OK {
			return false
		}
	}
	return len(r.Runs) > 0 || len(r.Denies) > 0
}

// Failed counts the runs and checks that failed.
func (r *VerifyReport) Failed() int {
	n := 0
	for _, x := range append(append([]VerifyRun(nil), r.Runs...), r.Denies...) {
		if !x.OK {
			n++
		}
	}
	return n
}

// probeMarkerErrno is the errno the probe's copy of a profile returns by default, so a denial
// by the filter cannot be mistaken for the kernel's own EPERM. 133 is EHWPOISON, which no
// syscall returns for zeroed arguments.
const probeMarkerErrno = 133

// Verify runs the workload under the profile opts.Runs times; a run passes when the container
// exits 0. For each ExpectDeny call it runs a probe (ProbeELF) under the profile and checks that
// the filter refuses the call.
func Verify(ctx context.Context, pm *Podman, opts VerifyOptions) (*VerifyReport, error) {
	if opts.Runs <= 0 {
		opts.Runs = 10
	}
	f, err := os.Open(opts.Profile)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	prof, err := ReadProfile(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opts.Profile, err)
	}
	abs, err := filepath.Abs(opts.Profile)
	if err != nil {
		return nil, err
	}
	for _, name := range opts.ExpectDeny {
		if _, ok := Number(X8664, name); !ok {
			return nil, fmt.Errorf("--expect-deny %s: not an x86_64 syscall", name)
		}
	}
	rep := &VerifyReport{}
	report := func(v VerifyRun) {
		if opts.Progress != nil {
			opts.Progress(v)
		}
	}
	for i := 1; i <= opts.Runs; i++ {
		spec := opts.Run
		spec.SeccompProfile = abs
		res, err := pm.Run(ctx, spec)
		if err != nil {
			return rep, err
		}
		v := VerifyRun{Kind: "run", N: i, OK: res.ExitCode == 0, ExitCode: res.ExitCode, Duration: res.Duration}
		if !v.OK {
			v.Detail = Summary(res.Stderr)
			if v.Detail == "" {
				v.Detail = Summary(res.Stdout)
			}
			if v.Detail == "" {
				v.Detail = "(no output)"
			}
		}
		rep.Runs = append(rep.Runs, v)
		report(v)
	}
	for _, name := range opts.ExpectDeny {
		v, err := checkDenied(ctx, pm, prof, opts.Run, name)
		if err != nil {
			return rep, err
		}
		rep.Denies = append(rep.Denies, v)
		report(v)
	}
	return rep, nil
}

// checkDenied runs the probe for name under a copy of the profile whose default errno is a
// marker; every allow/deny decision of the copy is the profile's own.
func checkDenied(ctx context.Context, pm *Podman, prof *Profile, base RunSpec, name string) (VerifyRun, error) {
	v := VerifyRun{Kind: "deny", Syscall: name}
	action, errno, conditional := prof.Lookup(name)
	if (action == ActAllow || action == ActLog) && !conditional {
		v.Detail = "the profile allows it (" + action + ")"
		return v, nil
	}
	want := errno
	byDefault := true
	for _, r := range prof.Syscalls {
		if containsName(r.Names, name) && len(r.Args) == 0 {
			byDefault = false
		}
	}
	probeProf := prof.Clone()
	if byDefault && prof.DefaultAction == ActErrno {
		probeProf.DefaultErrnoRet = uintPtr(probeMarkerErrno)
		want = probeMarkerErrno
	}
	nr, _ := Number(X8664, name)
	elf, err := ProbeELF(nr)
	if err != nil {
		return v, err
	}
	dir, err := os.MkdirTemp("", "imgharden-probe-")
	if err != nil {
		return v, err
	}
	defer os.RemoveAll(dir)
	probePath, profPath := filepath.Join(dir, "probe"), filepath.Join(dir, "profile.json")
	if err := os.WriteFile(probePath, elf, 0o755); err != nil {
		return v, err
	}
	pf, err := os.Create(profPath)
	if err != nil {
		return v, err
	}
	if err := probeProf.WriteJSON(pf); err != nil {
		pf.Close()
		return v, err
	}
	if err := pf.Close(); err != nil {
		return v, err
	}
	spec := base
	spec.SeccompProfile = profPath
	spec.Entrypoint = "/.imgharden-probe"
	spec.Command = nil
	spec.Volumes = append(append([]string(nil), base.Volumes...), probePath+":/.imgharden-probe:ro")
	res, err := pm.Run(ctx, spec)
	if err != nil {
		return v, err
	}
	v.ExitCode, v.Duration = res.ExitCode, res.Duration
	killed := res.ExitCode == 128+31 // SIGSYS
	switch {
	case action == ActErrno && res.ExitCode == int(want):
		v.OK = true
		v.Detail = fmt.Sprintf("refused with errno %d", errno)
	case (action == ActKill || action == "SCMP_ACT_KILL_PROCESS" || action == "SCMP_ACT_KILL_THREAD" || action == ActTrap) && killed:
		v.OK = true
		v.Detail = "refused: the probe was killed by SIGSYS"
	case res.ExitCode == 0:
		v.Detail = "the call succeeded"
	case res.ExitCode == 128+4:
		v.Detail = "the probe could not exit: the profile refuses exit_group and exit"
	case res.ExitCode >= 125 && res.ExitCode <= 127:
		v.Detail = "the container did not start: " + LastLine(res.Stderr)
	default:
		v.Detail = fmt.Sprintf("the call was not refused by the filter: the probe exited %d (the kernel's errno)", res.ExitCode)
	}
	return v, nil
}

// ErrVerifyFailed is returned by callers that turn a failed report into an error.
var ErrVerifyFailed = errors.New("verification failed")
