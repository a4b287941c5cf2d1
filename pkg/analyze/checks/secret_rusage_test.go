//go:build unix

package checks

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user + system) this process has used. Benchmarks report MB per
// CPU-second next to wall-clock MB/s: on a machine shared with other work, wall-clock time
// counts the time the benchmark waited for a core.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
