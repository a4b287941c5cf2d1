package seccomp

// Docker's default seccomp profile, for `imgharden seccomp diff --against docker-default`.
//
// Source: moby/moby profiles/seccomp/default.json (Apache-2.0) as in the Docker Engine v24.0
// release line: defaultAction SCMP_ACT_ERRNO, defaultErrnoRet 1, the unconditional allow list,
// the argument-conditional rules for socket (no AF_VSOCK), personality and clone, clone3 →
// ENOSYS without CAP_SYS_ADMIN, and the capability- and architecture-gated rules. It was
// written down here from that file's content, not downloaded; later moby releases added calls
// (for example cachestat, fchmodat2, map_shadow_stack) that this copy does not have. Rules for
// architectures other than x86 (arm, ppc64le, s390, riscv) are kept so the data reads like the
// original, though diff only evaluates amd64.

// DockerDefaultVersion names what DockerDefault mirrors.
const DockerDefaultVersion = "moby v24.0 profiles/seccomp/default.json"

// DockerDefaultCaps is Docker's default capability set, which decides the capability-gated rules.
var DockerDefaultCaps = []string{
	"CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_MKNOD", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP",
	"CAP_SETUID", "CAP_SYS_CHROOT",
}

// DockerDefault returns Docker's default profile.
func DockerDefault() *Profile {
	caps := func(c ...string) *Filter { return &Filter{Caps: c} }
	arches := func(a ...string) *Filter { return &Filter{Arches: a} }
	eq := func(v uint64) []Arg { return []Arg{{Index: 0, Value: v, Op: "SCMP_CMP_EQ"}} }
	const cloneNSFlags = 2114060288 // CLONE_NEWNS|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWCGROUP
	return &Profile{
		DefaultAction:   ActErrno,
		DefaultErrnoRet: uintPtr(1),
		ArchMap: []ArchMap{
			{Architecture: "SCMP_ARCH_X86_64", SubArchitectures: []string{"SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
			{Architecture: "SCMP_ARCH_AARCH64", SubArchitectures: []string{"SCMP_ARCH_ARM"}},
			{Architecture: "SCMP_ARCH_MIPS64", SubArchitectures: []string{"SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32"}},
			{Architecture: "SCMP_ARCH_MIPS64N32", SubArchitectures: []string{"SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64"}},
			{Architecture: "SCMP_ARCH_MIPSEL64", SubArchitectures: []string{"SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32"}},
			{Architecture: "SCMP_ARCH_MIPSEL64N32", SubArchitectures: []string{"SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64"}},
			{Architecture: "SCMP_ARCH_S390X", SubArchitectures: []string{"SCMP_ARCH_S390"}},
			{Architecture: "SCMP_ARCH_RISCV64"},
		},
		Syscalls: []Rule{
			{Action: ActAllow, Names: dockerAllowed},
			{Action: ActAllow, Names: []string{"process_vm_readv", "process_vm_writev", "ptrace"}, Includes: &Filter{MinKernel: "4.8"}},
			{Action: ActAllow, Names: []string{"socket"}, Args: []Arg{{Index: 0, Value: 40, Op: "SCMP_CMP_NE"}}},
			{Action: ActAllow, Names: []string{"personality"}, Args: eq(0)},
			{Action: ActAllow, Names: []string{"personality"}, Args: eq(8)},
			{Action: ActAllow, Names: []string{"personality"}, Args: eq(131072)},
			{Action: ActAllow, Names: []string{"personality"}, Args: eq(131080)},
			{Action: ActAllow, Names: []string{"personality"}, Args: eq(4294967295)},
			{Action: ActAllow, Names: []string{"sync_file_range2", "swapcontext"}, Includes: arches("ppc64le")},
			{Action: ActAllow, Names: []string{"arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls"}, Includes: arches("arm", "arm64")},
			{Action: ActAllow, Names: []string{"arch_prctl"}, Includes: arches("amd64", "x32")},
			{Action: ActAllow, Names: []string{"modify_ldt"}, Includes: arches("amd64", "x32", "x86")},
			{Action: ActAllow, Names: []string{"s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"}, Includes: arches("s390", "s390x")},
			{Action: ActAllow, Names: []string{"riscv_flush_icache"}, Includes: arches("riscv64")},
			{Action: ActAllow, Names: []string{"open_by_handle_at"}, Includes: caps("CAP_DAC_READ_SEARCH")},
			{Action: ActAllow, Names: []string{"bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
				"lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl", "quotactl_fd",
				"setdomainname", "sethostname", "setns", "syslog", "umount", "umount2", "unshare"}, Includes: caps("CAP_SYS_ADMIN")},
			{Action: ActAllow, Names: []string{"clone"}, Args: []Arg{{Index: 0, Value: cloneNSFlags, Op: "SCMP_CMP_MASKED_EQ"}},
				Excludes: &Filter{Caps: []string{"CAP_SYS_ADMIN"}, Arches: []string{"s390", "s390x"}}},
			{Action: ActAllow, Names: []string{"clone"}, Args: []Arg{{Index: 1, Value: cloneNSFlags, Op: "SCMP_CMP_MASKED_EQ"}},
				Comment: "s390 parameter ordering for clone is different", Includes: arches("s390", "s390x"), Excludes: caps("CAP_SYS_ADMIN")},
			{Action: ActErrno, ErrnoRet: uintPtr(errnoENOSYS), Names: []string{"clone3"}, Excludes: caps("CAP_SYS_ADMIN")},
			{Action: ActAllow, Names: []string{"reboot"}, Includes: caps("CAP_SYS_BOOT")},
			{Action: ActAllow, Names: []string{"chroot"}, Includes: caps("CAP_SYS_CHROOT")},
			{Action: ActAllow, Names: []string{"delete_module", "init_module", "finit_module"}, Includes: caps("CAP_SYS_MODULE")},
			{Action: ActAllow, Names: []string{"acct"}, Includes: caps("CAP_SYS_PACCT")},
			{Action: ActAllow, Names: []string{"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"}, Includes: caps("CAP_SYS_PTRACE")},
			{Action: ActAllow, Names: []string{"iopl", "ioperm"}, Includes: caps("CAP_SYS_RAWIO")},
			{Action: ActAllow, Names: []string{"settimeofday", "stime", "clock_settime", "clock_settime64"}, Includes: caps("CAP_SYS_TIME")},
			{Action: ActAllow, Names: []string{"vhangup"}, Includes: caps("CAP_SYS_TTY_CONFIG")},
			{Action: ActAllow, Names: []string{"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"}, Includes: caps("CAP_SYS_NICE")},
			{Action: ActAllow, Names: []string{"syslog"}, Includes: caps("CAP_SYSLOG")},
			{Action: ActAllow, Names: []string{"bpf"}, Includes: caps("CAP_BPF")},
			{Action: ActAllow, Names: []string{"perf_event_open"}, Includes: caps("CAP_PERFMON")},
		},
	}
}

// dockerAllowed is the default profile's unconditional allow list.
var dockerAllowed = []string{
	"accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "capget", "capset", "chdir",
	"chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres",
	"clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
	"clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat", "dup",
	"dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
	"epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat",
	"exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate",
	"fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchown", "fchown32", "fchownat", "fcntl",
	"fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr",
	"fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64",
	"futex", "futex_time64", "futex_waitv", "futimesat", "getcpu", "getcwd", "getdents",
	"getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32",
	"getgroups", "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid",
	"getppid", "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32",
	"getrlimit", "get_robust_list", "getrusage", "getsid", "getsockname", "getsockopt",
	"get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32", "getxattr",
	"inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl",
	"io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "ioprio_get",
	"ioprio_set", "io_setup", "io_submit", "io_uring_enter", "io_uring_register", "io_uring_setup",
	"ipc", "kill", "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self",
	"lchown", "lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr",
	"_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise", "membarrier",
	"memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock",
	"mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open",
	"mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64",
	"mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock",
	"munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect", "open",
	"openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc",
	"pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv",
	"preadv2", "prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "pwrite64",
	"pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "recv",
	"recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr",
	"rename", "renameat", "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction",
	"rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
	"rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity",
	"sched_getattr", "sched_getparam", "sched_get_priority_max", "sched_get_priority_min",
	"sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64",
	"sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield",
	"seccomp", "select", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send",
	"sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32",
	"setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer",
	"setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
	"setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid",
	"setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr", "shmat",
	"shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4", "sigprocmask",
	"sigreturn", "socketcall", "socketpair", "splice", "stat", "stat64", "statfs", "statfs64",
	"statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee",
	"tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
	"timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime",
	"timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate",
	"truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat",
	"utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write",
	"writev",
}
