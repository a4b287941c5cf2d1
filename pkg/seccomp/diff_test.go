package seccomp

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDockerDefaultStances(t *testing.T) {
	st := DockerDefault().Stances(DefaultEnv(), ABIs)
	tests := map[string]Stance{
		"read":              Allowed,
		"arch_prctl":        Allowed, // amd64 only rule
		"ptrace":            Allowed, // minKernel 4.8
		"chroot":            Allowed, // CAP_SYS_CHROOT is a default capability
		"clone":             Conditional,
		"socket":            Conditional,
		"personality":       Conditional,
		"clone3":            Denied, // ENOSYS without CAP_SYS_ADMIN
		"mount":             Denied, // CAP_SYS_ADMIN
		"open_by_handle_at": Denied,
		"kexec_load":        Denied,
		"reboot":            Denied,
		"bpf":               Denied,
	}
	for n, want := range tests {
		if got := st[n]; got != want {
			t.Errorf("%s: %v, want %v", n, got, want)
		}
	}
	withAdmin := DefaultEnv()
	withAdmin.Caps = append(append([]string(nil), withAdmin.Caps...), "CAP_SYS_ADMIN")
	st = DockerDefault().Stances(withAdmin, ABIs)
	for _, n := range []string{"mount", "clone", "clone3", "bpf"} {
		if st[n] != Allowed {
			t.Errorf("with CAP_SYS_ADMIN %s: %v, want allowed", n, st[n])
		}
	}
}

// TestDockerDefaultNames catches typos: every name is a syscall of some architecture moby
// supports; only these are not x86 calls.
func TestDockerDefaultNames(t *testing.T) {
	notX86 := map[string]bool{
		"recv": true, "send": true, "arm_fadvise64_64": true, "arm_sync_file_range": true,
		"sync_file_range2": true, "breakpoint": true, "cacheflush": true, "set_tls": true,
		"swapcontext": true, "s390_pci_mmio_read": true, "s390_pci_mmio_write": true,
		"s390_runtime_instr": true, "riscv_flush_icache": true,
	}
	seen := map[string]bool{}
	for _, r := range DockerDefault().Syscalls {
		for _, n := range r.Names {
			if !Known(n) && !notX86[n] {
				t.Errorf("%s is in no syscall table", n)
			}
			if r.Includes == nil && r.Excludes == nil && len(r.Args) == 0 {
				if seen[n] {
					t.Errorf("%s listed twice", n)
				}
				seen[n] = true
			}
		}
	}
	if len(seen) < 300 {
		t.Errorf("unconditional allow list has %d names", len(seen))
	}
}

func TestCompare(t *testing.T) {
	dd := DockerDefault()
	self := Compare(dd, dd, "docker-default", DefaultEnv())
	if len(self.Added)+len(self.Removed)+len(self.Loosened)+len(self.Tightened) != 0 {
		t.Errorf("docker default differs from itself: %+v", self)
	}
	p := prof(allow("read", "write", "clone", "mount", "exit_group"),
		Rule{Names: []string{"clone3"}, Action: ActErrno, ErrnoRet: uintPtr(38)})
	d := Compare(p, dd, "docker-default", DefaultEnv())
	if d.Reference != "docker-default" || d.Kept != 3 {
		t.Errorf("reference %q kept %d", d.Reference, d.Kept)
	}
	if diff := cmp.Diff([]string{"mount"}, d.Added); diff != "" {
		t.Errorf("added (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"clone"}, d.Loosened); diff != "" {
		t.Errorf("loosened (-want +got):\n%s", diff)
	}
	for _, n := range []string{"openat", "socket", "personality", "ptrace"} {
		if !containsName(d.Removed, n) {
			t.Errorf("%s not reported removed", n)
		}
	}
	for _, n := range []string{"clone3", "kexec_load", "mmap2"} { // denied by both; mmap2 is i386 only
		if containsName(d.Removed, n) {
			t.Errorf("%s reported removed", n)
		}
	}
	q := prof(Rule{Names: []string{"openat"}, Action: ActAllow, Args: []Arg{{Index: 2, Value: 0, Op: "SCMP_CMP_EQ"}}})
	if d := Compare(q, dd, "docker-default", DefaultEnv()); !containsName(d.Tightened, "openat") {
		t.Errorf("tightened = %v", d.Tightened)
	}
}
