//go:build !unix

package checks

import "time"

// cpuTime is not measured on this platform; benchmarks then report wall-clock figures only.
func cpuTime() time.Duration { return 0 }
