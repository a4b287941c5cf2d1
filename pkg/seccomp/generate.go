package seccomp

import (
	"errors"
	"fmt"
	"strings"
)

// GenerateOption configures Generate.
type GenerateOption func(*generateConfig)

type generateConfig struct {
	defaultErrno uint
	runtime      string
	nnp          bool
	allowPartial bool
}

// WithDefaultErrno sets defaultErrnoRet, the errno of calls outside the profile. Default 1
// (EPERM).
func WithDefaultErrno(errno uint) GenerateOption {
	return func(c *generateConfig) { c.defaultErrno = errno }
}

// WithRuntime adds the calls the container runtime makes after it installed the filter
// (see RuntimeSyscalls): runtime is "runc", "crun" or "none"; nnp says whether the container
// runs with no-new-privileges. Default: runc without no-new-privileges.
func WithRuntime(runtime string, nnp bool) GenerateOption {
	return func(c *generateConfig) { c.runtime, c.nnp = runtime, nnp }
}

// WithAllowPartial accepts a trace whose logs look partial. Default false: Generate returns
// the trace's *PartialError.
func WithAllowPartial(allow bool) GenerateOption {
	return func(c *generateConfig) { c.allowPartial = allow }
}

// ErrEmptyTrace is returned for a trace without any syscall: its profile would deny everything.
var ErrEmptyTrace = errors.New("the trace holds no syscall; refusing to write a profile that denies everything")

// Comments on generated rules, so a reader knows where each name comes from.
const (
	commentTraced  = "syscalls the workload made (strace)"
	commentClone3  = "clone3 is not used: return ENOSYS so glibc falls back to clone"
	commentRuntime = "called by the container runtime after it installed this filter: "
)

const errnoENOSYS = 38

// Generate builds a profile that allows exactly the traced syscalls, plus what the container
// runtime needs, and denies everything else with SCMP_ACT_ERRNO.
func Generate(tr *Trace, opts ...GenerateOption) (*Profile, error) {
	cfg := generateConfig{defaultErrno: 1, runtime: "runc"}
	for _, o := range opts {
		o(&cfg)
	}
	if !cfg.allowPartial {
		if err := tr.Complete(); err != nil {
			return nil, err
		}
	}
	if tr.Syscalls.Empty() {
		return nil, ErrEmptyTrace
	}
	p := &Profile{DefaultAction: ActErrno, DefaultErrnoRet: uintPtr(cfg.defaultErrno)}
	for _, a := range tr.Syscalls.UsedABIs() {
		p.Architectures = append(p.Architectures, a.Arch())
	}
	if len(p.Architectures) == 0 || p.Architectures[0] != X8664.Arch() {
		// The runtime's own calls are x86_64 ones.
		p.Architectures = append([]string{X8664.Arch()}, p.Architectures...)
	}
	traced := tr.Syscalls.AllNames()
	p.Syscalls = append(p.Syscalls, Rule{Names: traced, Action: ActAllow, Comment: commentTraced})
	allowed := map[string]bool{}
	for _, n := range traced {
		allowed[n] = true
	}
	if cfg.runtime != "none" {
		rs, err := RuntimeSyscalls(cfg.runtime, cfg.nnp)
		if err != nil {
			return nil, err
		}
		var extra []string
		for _, n := range rs.Names {
			if !allowed[n] {
				extra = append(extra, n)
				allowed[n] = true
			}
		}
		if len(extra) > 0 {
			p.Syscalls = append(p.Syscalls, Rule{Names: extra, Action: ActAllow, Comment: commentRuntime + rs.Describe()})
		}
	}
	if allowed["clone"] && !allowed["clone3"] {
		p.Syscalls = append(p.Syscalls, Rule{Names: []string{"clone3"}, Action: ActErrno,
			ErrnoRet: uintPtr(errnoENOSYS), Comment: commentClone3})
	}
	return p, nil
}

// RuntimeSet is what a container runtime calls after it installed the seccomp filter, up to
// the execve of the workload. A profile that denies any of it stops the container from
// starting (or, for a call made only sometimes, from starting reliably).
type RuntimeSet struct {
	Runtime         string
	NoNewPrivileges bool
	Version         string // the runtime and podman versions it was measured with
	Measured        string // how and where
	Names           []string
}

// Describe is a one-line summary for profile comments.
func (r RuntimeSet) Describe() string {
	nnp := "without"
	if r.NoNewPrivileges {
		nnp = "with"
	}
	return fmt.Sprintf("%s %s no-new-privileges (measured with %s)", r.Runtime, nnp, r.Version)
}

// RuntimeSyscalls returns the measured set for runtime ("runc" or "crun").
func RuntimeSyscalls(runtime string, nnp bool) (RuntimeSet, error) {
	for _, rs := range runtimeSets {
		if rs.Runtime == runtime && rs.NoNewPrivileges == nnp {
			return rs, nil
		}
	}
	var known []string
	for _, rs := range runtimeSets {
		if !containsName(known, rs.Runtime) {
			known = append(known, rs.Runtime)
		}
	}
	return RuntimeSet{}, fmt.Errorf("unknown container runtime %q (known: %s, none)", runtime, strings.Join(known, ", "))
}
