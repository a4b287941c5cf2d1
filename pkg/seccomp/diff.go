package seccomp

import "sort"

// Env is what Docker-style includes/excludes filters are evaluated against.
type Env struct {
	Arch string   // Go-style architecture name: "amd64"
	Caps []string // granted capabilities, "CAP_*"
}

// DefaultEnv is an amd64 container with Docker's default capabilities. minKernel filters are
// taken as met (any kernel from 4.8 on).
func DefaultEnv() Env { return Env{Arch: "amd64", Caps: DockerDefaultCaps} }

// Stance is how a profile treats a syscall.
type Stance uint8

// Stances, from the least to the most permissive.
const (
	Denied      Stance = iota // the default action or an explicit non-allow rule
	Conditional               // allowed only for some argument values
	Allowed                   // allowed outright
)

func (s Stance) String() string {
	return [...]string{"denied", "conditional", "allowed"}[s]
}

// Stances evaluates the profile for env over every syscall name of the given ABIs.
func (p *Profile) Stances(env Env, abis []ABI) map[string]Stance {
	out := map[string]Stance{}
	names := map[string]bool{}
	for _, a := range abis {
		for _, n := range Names(a) {
			names[n] = true
		}
	}
	allowDefault := p.DefaultAction == ActAllow || p.DefaultAction == ActLog
	for n := range names {
		if allowDefault {
			out[n] = Allowed
		} else {
			out[n] = Denied
		}
	}
	decided := map[string]bool{}
	for _, r := range p.Syscalls {
		if !env.applies(r) {
			continue
		}
		allow := r.Action == ActAllow || r.Action == ActLog
		for _, n := range r.Names {
			if !names[n] {
				continue
			}
			switch {
			case len(r.Args) > 0:
				if allow && out[n] == Denied {
					out[n] = Conditional
				}
			case !decided[n]:
				// libseccomp keeps one unconditional action per call; the first rule wins.
				decided[n] = true
				if allow {
					out[n] = Allowed
				} else if out[n] != Conditional {
					out[n] = Denied
				}
			}
		}
	}
	return out
}

// applies evaluates a rule's includes and excludes.
func (env Env) applies(r Rule) bool {
	has := func(list []string, s string) bool { return containsName(list, s) }
	if inc := r.Includes; inc != nil {
		if len(inc.Arches) > 0 && !has(inc.Arches, env.Arch) {
			return false
		}
		for _, c := range inc.Caps {
			if !has(env.Caps, c) {
				return false
			}
		}
	}
	if exc := r.Excludes; exc != nil {
		if has(exc.Arches, env.Arch) {
			return false
		}
		for _, c := range exc.Caps {
			if has(env.Caps, c) {
				return false
			}
		}
	}
	return true
}

// Diff compares a profile with a reference profile.
type Diff struct {
	Reference string   `json:"reference"`
	ABIs      []string `json:"abis"`
	// Added: the profile allows them (outright or for some arguments), the reference denies them.
	Added []string `json:"added"`
	// Loosened: the profile allows them outright, the reference only for some arguments.
	Loosened []string `json:"loosened"`
	// Tightened: the profile allows them only for some arguments, the reference outright.
	Tightened []string `json:"tightened"`
	// Removed: the reference allows them (outright or for some arguments), the profile denies them.
	Removed []string `json:"removed"`
	// Kept counts the calls both allow the same way.
	Kept int `json:"kept"`
}

// Compare reports how p differs from ref for env, over the ABIs p's architectures cover.
func Compare(p, ref *Profile, refName string, env Env) Diff {
	abis := p.ABIsOf()
	d := Diff{Reference: refName, Added: []string{}, Loosened: []string{}, Tightened: []string{}, Removed: []string{}}
	for _, a := range abis {
		d.ABIs = append(d.ABIs, a.String())
	}
	mine, theirs := p.Stances(env, abis), ref.Stances(env, abis)
	for n, s := range mine {
		t := theirs[n]
		switch {
		case s == t && s != Denied:
			d.Kept++
		case s != Denied && t == Denied:
			d.Added = append(d.Added, n)
		case s == Denied && t != Denied:
			d.Removed = append(d.Removed, n)
		case s == Allowed && t == Conditional:
			d.Loosened = append(d.Loosened, n)
		case s == Conditional && t == Allowed:
			d.Tightened = append(d.Tightened, n)
		}
	}
	for _, l := range [][]string{d.Added, d.Loosened, d.Tightened, d.Removed} {
		sort.Strings(l)
	}
	return d
}
