package seccomp

// The syscalls container runtimes make after they installed the seccomp filter, up to and
// including the execve of the workload. A generated profile must allow them or the container
// does not start.
//
// How they were measured (MeasureRuntime; re-run with the e2e test TestMeasureRuntimeSets):
// podman runs /usr/bin/true in localhost/debian:bookworm with a profile whose defaultAction is
// SCMP_ACT_LOG; the kernel writes an AUDIT_SECCOMP record for every call made under the
// filter, read from the audit netlink multicast group; the runtime's calls are the records of
// the container's PID whose exe is not /usr/bin/true. Each set is the union over the runs; the
// comment after a name says in how many runs it appeared when that was not all of them.
//
// Machine: Debian 12, kernel 6.18 x86_64, podman 4.3.1, cgroupfs manager.
// crun refuses this host's hybrid cgroup layout, so it was measured inside a private mount
// namespace with the cgroup2 mount removed (unshare -m; umount /sys/fs/cgroup/unified): the
// calls after the filter do not touch cgroups.
var runtimeSets = []RuntimeSet{
	{
		Runtime: "runc", NoNewPrivileges: false,
		Version:  "runc 1.1.5+ds1 (Debian 12), podman 4.3.1",
		Measured: "SCMP_ACT_LOG audit records, 100 runs, 2026-11-25",
		Names: []string{
			"capget", "capset", "chdir", "close", "epoll_ctl", "execve", "faccessat2", "fcntl",
			"fstat", "fstatfs",
			"futex", // 99 of 100 runs
			"getcwd", "getdents64", "getpid", "getppid", "newfstatat", "openat", "prctl", "read",
			"rt_sigreturn", // 17 of 100 runs: a Go runtime signal handler returning
			"setgid", "setgroups", "setuid", "write",
		},
	},
	{
		Runtime: "runc", NoNewPrivileges: true,
		Version:  "runc 1.1.5+ds1 (Debian 12), podman 4.3.1",
		Measured: "SCMP_ACT_LOG audit records, 100 runs, 2026-11-25",
		Names: []string{
			"close", "epoll_ctl", "execve", "fstatfs",
			"futex", // 97 of 100 runs
			"getdents64", "getpid", "openat",
			"rt_sigreturn", // 17 of 100 runs
			"write",
		},
	},
	{
		Runtime: "crun", NoNewPrivileges: false,
		Version:  "crun 1.8.1 (Debian 12), podman 4.3.1",
		Measured: "SCMP_ACT_LOG audit records, 20 runs, 2026-11-25",
		Names: []string{
			"capset", "close", "execve", "prctl", "pselect6", "read", "rt_sigaction",
			"rt_sigprocmask", "setresgid", "setresuid", "write",
		},
	},
	{
		Runtime: "crun", NoNewPrivileges: true,
		Version:  "crun 1.8.1 (Debian 12), podman 4.3.1",
		Measured: "SCMP_ACT_LOG audit records, 20 runs, 2026-11-25",
		Names:    []string{"close", "execve"},
	},
}
