package seccomp

import (
	"fmt"
	"math/bits"
	"sort"
)

// ABI is a system-call ABI of an x86_64 kernel that a profile can cover.
type ABI uint8

// The ABIs imgharden knows. x32 is not supported.
const (
	X8664 ABI = iota // native 64-bit calls
	I386             // 32-bit calls (int 0x80, compat mode)
	numABIs
)

// ABIs lists every supported ABI in profile order.
var ABIs = []ABI{X8664, I386}

// String is the ABI's name as people write it.
func (a ABI) String() string {
	switch a {
	case X8664:
		return "x86_64"
	case I386:
		return "i386"
	}
	return fmt.Sprintf("ABI(%d)", uint8(a))
}

// Key is the key used for the ABI in truth files and JSON output ("64", "32").
func (a ABI) Key() string {
	if a == I386 {
		return "32"
	}
	return "64"
}

// Arch is the libseccomp architecture name used in profiles.
func (a ABI) Arch() string {
	if a == I386 {
		return "SCMP_ARCH_X86"
	}
	return "SCMP_ARCH_X86_64"
}

// AuditArch is the AUDIT_ARCH_* value the kernel reports for the ABI in seccomp audit records.
func (a ABI) AuditArch() uint32 {
	if a == I386 {
		return 0x40000003
	}
	return 0xc000003e
}

// maxNr bounds syscall numbers so a Set is a fixed-size value.
const maxNr = 512

type table struct {
	names  []string       // by number; "" for holes
	byName map[string]int // name → number
}

var tables = [numABIs]table{newTable(x8664Names[:]), newTable(i386Names[:])}

func newTable(names []string) table {
	t := table{names: names, byName: make(map[string]int, len(names))}
	for nr, n := range names {
		if n != "" {
			t.byName[n] = nr
		}
	}
	return t
}

// Number returns the syscall number of name in the ABI.
func Number(a ABI, name string) (int, bool) {
	nr, ok := tables[a].byName[name]
	return nr, ok
}

// numberBytes is Number without allocating: Go does not copy b for the map lookup.
func numberBytes(a ABI, name []byte) (int, bool) {
	nr, ok := tables[a].byName[string(name)]
	return nr, ok
}

// Name returns the name of syscall nr in the ABI.
func Name(a ABI, nr int) (string, bool) {
	t := tables[a]
	if nr < 0 || nr >= len(t.names) || t.names[nr] == "" {
		return "", false
	}
	return t.names[nr], true
}

// Known reports whether name is a syscall of any supported ABI.
func Known(name string) bool {
	for _, a := range ABIs {
		if _, ok := Number(a, name); ok {
			return true
		}
	}
	return false
}

// Names lists every syscall name of the ABI, sorted.
func Names(a ABI) []string {
	out := make([]string, 0, len(tables[a].byName))
	for n := range tables[a].byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// bitset is a set of syscall numbers of one ABI.
type bitset [maxNr / 64]uint64

func (b *bitset) add(nr int)      { b[nr>>6] |= 1 << (nr & 63) }
func (b *bitset) has(nr int) bool { return b[nr>>6]&(1<<(nr&63)) != 0 }
func (b *bitset) union(o *bitset) {
	for i := range b {
		b[i] |= o[i]
	}
}
func (b *bitset) empty() bool { return *b == bitset{} }
func (b *bitset) len() (n int) {
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

// Set is a set of syscalls per ABI. The zero value is empty and ready to use.
type Set struct {
	abi [numABIs]bitset
}

// Add adds the named syscall of the ABI. It reports false when the ABI has no such syscall.
func (s *Set) Add(a ABI, name string) bool {
	nr, ok := Number(a, name)
	if ok {
		s.abi[a].add(nr)
	}
	return ok
}

// AddNr adds syscall number nr of the ABI. It reports false when the ABI has no such syscall.
func (s *Set) AddNr(a ABI, nr int) bool {
	if _, ok := Name(a, nr); !ok {
		return false
	}
	s.abi[a].add(nr)
	return true
}

// Has reports whether the set holds the named syscall of the ABI.
func (s *Set) Has(a ABI, name string) bool {
	nr, ok := Number(a, name)
	return ok && s.abi[a].has(nr)
}

// Union adds every syscall of o.
func (s *Set) Union(o Set) {
	for a := range s.abi {
		s.abi[a].union(&o.abi[a])
	}
}

// Len is the number of syscalls of the ABI in the set.
func (s *Set) Len(a ABI) int { return s.abi[a].len() }

// Empty reports whether the set holds no syscall of any ABI.
func (s *Set) Empty() bool {
	for a := range s.abi {
		if !s.abi[a].empty() {
			return false
		}
	}
	return true
}

// Names lists the syscall names of the ABI in the set, sorted.
func (s *Set) Names(a ABI) []string {
	out := make([]string, 0, s.abi[a].len())
	for nr := 0; nr < maxNr; nr++ {
		if s.abi[a].has(nr) {
			n, _ := Name(a, nr)
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// AllNames lists the names in the set over every ABI, deduplicated and sorted.
func (s *Set) AllNames() []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range ABIs {
		for _, n := range s.Names(a) {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	sort.Strings(out)
	return out
}

// UsedABIs lists the ABIs with at least one syscall in the set.
func (s *Set) UsedABIs() []ABI {
	var out []ABI
	for _, a := range ABIs {
		if !s.abi[a].empty() {
			out = append(out, a)
		}
	}
	return out
}
