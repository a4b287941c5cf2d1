package seccomp

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// TestProbeELF runs the probe on this machine: it must exit with the errno of its call.
func TestProbeELF(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("the probe is an x86_64 Linux executable")
	}
	tests := []struct {
		name string
		want int
	}{
		{"getpid", 0}, // succeeds
		{"mkdir", 14}, // mkdir(NULL, 0): EFAULT
		{"sched_yield", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nr, _ := Number(X8664, tt.name)
			elf, err := ProbeELF(nr)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "probe")
			if err := os.WriteFile(path, elf, 0o755); err != nil {
				t.Fatal(err)
			}
			err = exec.Command(path).Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.want {
				t.Errorf("exit %d, want %d", code, tt.want)
			}
		})
	}
	if _, err := ProbeELF(100000); err == nil {
		t.Error("ProbeELF accepted a number with no syscall")
	}
}
