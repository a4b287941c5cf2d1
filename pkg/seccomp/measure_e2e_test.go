//go:build e2e

package seccomp

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/imgharden/imgharden/internal/e2eenv"
)

// TestMeasureRuntimeSets re-measures what the container runtimes call after installing the
// filter (MeasureRuntime: SCMP_ACT_LOG + the kernel's audit records) and checks the sets kept
// in runtime.go cover it. A runtime that cannot run containers on this host is skipped with the
// reason (crun refuses hybrid cgroup hosts; see runtime.go for how it was measured here).
func TestMeasureRuntimeSets(t *testing.T) {
	env := e2eenv.Require(t, "podman")
	const runs = 5
	for _, rt := range []string{"runc", "crun"} {
		for _, nnp := range []bool{false, true} {
			rs, err := RuntimeSyscalls(rt, nnp)
			if err != nil {
				t.Fatal(err)
			}
			t.Run(fmt.Sprintf("%s/no-new-privileges=%v", rt, nnp), func(t *testing.T) {
				if _, err := exec.LookPath(rt); err != nil {
					t.Skipf("%s is not installed", rt)
				}
				pm := &Podman{Runtime: rt}
				probe, err := pm.Run(context.Background(), RunSpec{Image: env.BaseImage, Command: []string{"true"}, Network: "none"})
				if err != nil {
					t.Fatal(err)
				}
				if probe.ExitCode != 0 {
					t.Skipf("%s cannot run containers here: %s", rt, LastLine(probe.Stderr))
				}
				m, err := MeasureRuntime(context.Background(), pm, env.BaseImage, nnp, runs)
				if err != nil {
					t.Fatal(err)
				}
				var counts []string
				for _, n := range m.Names() {
					counts = append(counts, n+"="+strconv.Itoa(m.Counts[n]))
				}
				t.Logf("%s (%s, %s), %d runs: %s", m.Runtime, m.Version, m.Podman, runs, strings.Join(counts, " "))
				for _, n := range m.Names() {
					if !containsName(rs.Names, n) {
						t.Errorf("%s called %s after installing the filter; runtime.go lacks it (%s)", rt, n, rs.Version)
					}
				}
			})
		}
	}
}
