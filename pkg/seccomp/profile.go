package seccomp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Actions used in profiles.
const (
	ActAllow = "SCMP_ACT_ALLOW"
	ActErrno = "SCMP_ACT_ERRNO"
	ActKill  = "SCMP_ACT_KILL"
	ActLog   = "SCMP_ACT_LOG"
	ActTrap  = "SCMP_ACT_TRAP"
)

// Profile is a seccomp profile in the Docker/OCI JSON format that podman, Docker and
// containerd read.
type Profile struct {
	DefaultAction   string    `json:"defaultAction"`
	DefaultErrnoRet *uint     `json:"defaultErrnoRet,omitempty"`
	Architectures   []string  `json:"architectures,omitempty"`
	ArchMap         []ArchMap `json:"archMap,omitempty"`
	Flags           []string  `json:"flags,omitempty"`
	Syscalls        []Rule    `json:"syscalls"`
}

// ArchMap is Docker's architecture → sub-architectures map.
type ArchMap struct {
	Architecture     string   `json:"architecture"`
	SubArchitectures []string `json:"subArchitectures"`
}

// Rule gives an action to a list of syscalls, optionally only for some arguments.
type Rule struct {
	Names    []string `json:"names"`
	Action   string   `json:"action"`
	ErrnoRet *uint    `json:"errnoRet,omitempty"`
	Args     []Arg    `json:"args,omitempty"`
	Comment  string   `json:"comment,omitempty"`
	Includes *Filter  `json:"includes,omitempty"`
	Excludes *Filter  `json:"excludes,omitempty"`
}

// Arg is a condition on one syscall argument.
type Arg struct {
	Index    uint   `json:"index"`
	Value    uint64 `json:"value"`
	ValueTwo uint64 `json:"valueTwo,omitempty"`
	Op       string `json:"op"`
}

// Filter limits a rule to architectures, capabilities or kernels (Docker's includes/excludes).
type Filter struct {
	Arches    []string `json:"arches,omitempty"`
	Caps      []string `json:"caps,omitempty"`
	MinKernel string   `json:"minKernel,omitempty"`
}

// ErrBadProfile is wrapped by errors for profiles that cannot be read.
var ErrBadProfile = errors.New("bad seccomp profile")

// ReadProfile decodes a profile strictly: unknown fields and trailing data are errors, so a
// merge or diff never silently drops part of a profile.
func ReadProfile(r io.Reader) (*Profile, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadProfile, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrBadProfile)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Validate checks the fields a runtime would reject.
func (p *Profile) Validate() error {
	if !validAction(p.DefaultAction) {
		return fmt.Errorf("%w: defaultAction %q", ErrBadProfile, p.DefaultAction)
	}
	for i, r := range p.Syscalls {
		if len(r.Names) == 0 {
			return fmt.Errorf("%w: syscalls[%d] has no names", ErrBadProfile, i)
		}
		if !validAction(r.Action) {
			return fmt.Errorf("%w: syscalls[%d] action %q", ErrBadProfile, i, r.Action)
		}
	}
	return nil
}

func validAction(a string) bool {
	switch a {
	case ActAllow, ActErrno, ActKill, ActLog, ActTrap, "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
		"SCMP_ACT_TRACE", "SCMP_ACT_NOTIFY":
		return true
	}
	return false
}

// WriteJSON writes the profile as indented JSON with a trailing newline.
func (p *Profile) WriteJSON(w io.Writer) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// Clone returns a deep copy.
func (p *Profile) Clone() *Profile {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(p); err != nil {
		panic(err) // a Profile always encodes
	}
	var q Profile
	if err := json.NewDecoder(&buf).Decode(&q); err != nil {
		panic(err)
	}
	return &q
}

// Without returns a copy of the profile in which name is no longer allowed by any rule.
// Rules left with no names are dropped.
func (p *Profile) Without(name string) *Profile {
	q := p.Clone()
	rules := q.Syscalls[:0]
	for _, r := range q.Syscalls {
		names := r.Names[:0]
		for _, n := range r.Names {
			if n != name || r.Action != ActAllow {
				names = append(names, n)
			}
		}
		r.Names = names
		if len(r.Names) > 0 {
			rules = append(rules, r)
		}
	}
	q.Syscalls = rules
	return q
}

func uintPtr(v uint) *uint { return &v }

// errnoOf returns the errno a rule or the default returns (EPERM when unset, as runc does).
func errnoOf(v *uint) uint {
	if v == nil {
		return 1
	}
	return *v
}

// Lookup reports how the profile treats a call of name with no argument conditions
// considered: the action of the first argument-free rule naming it, or the default.
// conditional is true when argument-conditional rules also name it.
func (p *Profile) Lookup(name string) (action string, errno uint, conditional bool) {
	for _, r := range p.Syscalls {
		if !containsName(r.Names, name) {
			continue
		}
		if len(r.Args) > 0 {
			conditional = true
			continue
		}
		return r.Action, errnoOf(r.ErrnoRet), conditional
	}
	return p.DefaultAction, errnoOf(p.DefaultErrnoRet), conditional
}

func containsName(names []string, n string) bool {
	for _, x := range names {
		if x == n {
			return true
		}
	}
	return false
}

func sortedUnique(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	w := 0
	for i, s := range out {
		if i == 0 || s != out[w-1] {
			out[w] = s
			w++
		}
	}
	return out[:w]
}

// ABIsOf lists the ABIs the profile's architectures cover (x86_64 when none is listed).
func (p *Profile) ABIsOf() []ABI {
	var out []ABI
	for _, a := range ABIs {
		for _, arch := range p.Architectures {
			if arch == a.Arch() {
				out = append(out, a)
			}
		}
	}
	if len(out) == 0 {
		out = []ABI{X8664}
	}
	return out
}

func archOrder(arch string) int {
	switch arch {
	case X8664.Arch():
		return 0
	case I386.Arch():
		return 1
	}
	return 2
}

func sortArches(a []string) []string {
	a = sortedUnique(a)
	sort.SliceStable(a, func(i, j int) bool {
		if oi, oj := archOrder(a[i]), archOrder(a[j]); oi != oj {
			return oi < oj
		}
		return a[i] < a[j]
	})
	return a
}

func ruleKey(r Rule) string {
	var b strings.Builder
	b.WriteString(r.Action)
	fmt.Fprintf(&b, "/%d", errnoOf(r.ErrnoRet))
	if r.ErrnoRet == nil {
		b.WriteString("/-")
	}
	args, _ := json.Marshal(r.Args)
	inc, _ := json.Marshal(r.Includes)
	exc, _ := json.Marshal(r.Excludes)
	b.Write(args)
	b.Write(inc)
	b.Write(exc)
	return b.String()
}
