package seccomp

import (
	"errors"
	"fmt"
	"sort"
)

// actionRank orders actions from the most to the least permissive; a merge keeps the most
// permissive action any profile gives a call.
func actionRank(a string) int {
	switch a {
	case ActAllow:
		return 0
	case ActLog:
		return 1
	case "SCMP_ACT_TRACE", "SCMP_ACT_NOTIFY":
		return 2
	case ActErrno:
		return 3
	case ActTrap:
		return 4
	case "SCMP_ACT_KILL_THREAD", ActKill:
		return 5
	}
	return 6 // SCMP_ACT_KILL_PROCESS
}

type verdict struct {
	action string
	errno  *uint
}

// more reports whether v is more permissive than w (ties broken by the lower errno, so the
// result does not depend on the order of the profiles).
func (v verdict) more(w verdict) bool {
	if rv, rw := actionRank(v.action), actionRank(w.action); rv != rw {
		return rv < rw
	}
	return errnoOf(v.errno) < errnoOf(w.errno)
}

// Merge returns the union of the profiles: a call that any profile allows is allowed, and
// for every other call the most permissive explicit action wins. The result does not depend
// on the order of the profiles. Argument-conditional rules are kept unless a profile allows
// the call outright. Comments of merged plain rules are dropped.
func Merge(ps ...*Profile) (*Profile, error) {
	if len(ps) == 0 {
		return nil, errors.New("nothing to merge")
	}
	out := &Profile{DefaultAction: ps[0].DefaultAction, DefaultErrnoRet: ps[0].DefaultErrnoRet}
	plain := map[string]verdict{}
	var cond []Rule
	var arches, flags []string
	archMap := map[string]ArchMap{}
	for i, p := range ps {
		if p.DefaultAction != out.DefaultAction || errnoOf(p.DefaultErrnoRet) != errnoOf(out.DefaultErrnoRet) {
			return nil, fmt.Errorf("profile %d has default %s/%d, profile 1 has %s/%d: a union of different defaults is undefined",
				i+1, p.DefaultAction, errnoOf(p.DefaultErrnoRet), out.DefaultAction, errnoOf(out.DefaultErrnoRet))
		}
		arches = append(arches, p.Architectures...)
		flags = append(flags, p.Flags...)
		for _, am := range p.ArchMap {
			cur := archMap[am.Architecture]
			cur.Architecture = am.Architecture
			cur.SubArchitectures = sortArches(append(cur.SubArchitectures, am.SubArchitectures...))
			archMap[am.Architecture] = cur
		}
		for _, r := range p.Syscalls {
			if len(r.Args) > 0 || r.Includes != nil || r.Excludes != nil {
				cond = append(cond, r)
				continue
			}
			v := verdict{r.Action, r.ErrnoRet}
			for _, n := range r.Names {
				if cur, ok := plain[n]; !ok || v.more(cur) {
					plain[n] = v
				}
			}
		}
	}
	if out.DefaultErrnoRet == nil && out.DefaultAction == ActErrno {
		for _, p := range ps {
			if p.DefaultErrnoRet != nil {
				out.DefaultErrnoRet = p.DefaultErrnoRet
			}
		}
	}
	if len(arches) > 0 {
		out.Architectures = sortArches(arches)
	}
	if len(flags) > 0 {
		out.Flags = sortedUnique(flags)
	}
	for _, k := range sortedKeys(archMap) {
		out.ArchMap = append(out.ArchMap, archMap[k])
	}

	// Plain rules, one per verdict: allow first, then by permissiveness.
	groups := map[string]*Rule{}
	for n, v := range plain {
		k := ruleKey(Rule{Action: v.action, ErrnoRet: v.errno})
		g := groups[k]
		if g == nil {
			g = &Rule{Action: v.action, ErrnoRet: v.errno}
			groups[k] = g
		}
		g.Names = append(g.Names, n)
	}
	var rules []Rule
	for _, g := range groups {
		g.Names = sortedUnique(g.Names)
		rules = append(rules, *g)
	}
	sort.Slice(rules, func(i, j int) bool {
		vi, vj := verdict{rules[i].Action, rules[i].ErrnoRet}, verdict{rules[j].Action, rules[j].ErrnoRet}
		if vi.more(vj) != vj.more(vi) {
			return vi.more(vj)
		}
		return ruleKey(rules[i]) < ruleKey(rules[j])
	})

	// Conditional rules: drop names allowed outright, then duplicates.
	seen := map[string]bool{}
	var condOut []Rule
	for _, r := range cond {
		var names []string
		for _, n := range r.Names {
			if v, ok := plain[n]; ok && v.action == ActAllow {
				continue
			}
			names = append(names, n)
		}
		if len(names) == 0 {
			continue
		}
		r.Names = sortedUnique(names)
		k := ruleKey(r) + fmt.Sprint(r.Names) + r.Comment
		if seen[k] {
			continue
		}
		seen[k] = true
		condOut = append(condOut, r)
	}
	sort.SliceStable(condOut, func(i, j int) bool {
		ki := fmt.Sprint(condOut[i].Names) + ruleKey(condOut[i])
		kj := fmt.Sprint(condOut[j].Names) + ruleKey(condOut[j])
		return ki < kj
	})
	out.Syscalls = append(rules, condOut...)
	if out.Syscalls == nil {
		out.Syscalls = []Rule{}
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
