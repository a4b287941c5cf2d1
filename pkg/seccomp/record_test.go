package seccomp

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRecordHost traces real commands on this host with strace.
func TestRecordHost(t *testing.T) {
	if _, err := exec.LookPath("strace"); err != nil {
		t.Skip("strace not installed")
	}
	if out, err := exec.Command("strace", "-f", "-o", "/dev/null", "true").CombinedOutput(); err != nil {
		t.Skipf("strace cannot trace here: %v %s", err, out)
	}
	t.Run("writes log and profile", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "new", "out")
		rec, err := Record(context.Background(), nil, RecordOptions{Dir: dir, Command: []string{"sh", "-c", "ls / >/dev/null"}})
		if err != nil {
			t.Fatal(err)
		}
		if rec.ExitCode != 0 || !rec.Trace.Syscalls.Has(X8664, "getdents64") || !rec.Trace.Syscalls.Has(X8664, "wait4") {
			t.Errorf("trace of sh -c ls: exit %d, %v", rec.ExitCode, rec.Trace.Syscalls.Names(X8664))
		}
		f, err := os.Open(rec.ProfilePath)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		p, err := ReadProfile(f)
		if err != nil {
			t.Fatal(err)
		}
		if a, _, _ := p.Lookup("getdents64"); a != ActAllow {
			t.Error("profile does not allow a traced call")
		}
		ents, _ := os.ReadDir(dir)
		if len(ents) != 2 {
			t.Errorf("files in the output directory: %v", ents)
		}
		// A second record into the same directory must not overwrite anything.
		before, _ := os.ReadFile(rec.LogPath)
		if _, err := Record(context.Background(), nil, RecordOptions{Dir: dir, Command: []string{"true"}}); err == nil || !strings.Contains(err.Error(), "exists") {
			t.Errorf("second record: %v", err)
		}
		if after, _ := os.ReadFile(rec.LogPath); string(after) != string(before) {
			t.Error("log overwritten")
		}
	})
	t.Run("failing workload keeps the log, writes no profile", func(t *testing.T) {
		dir := t.TempDir()
		rec, err := Record(context.Background(), nil, RecordOptions{Dir: dir, Command: []string{"sh", "-c", "exit 3"}})
		if !errors.Is(err, ErrWorkloadFailed) || rec.ExitCode != 3 {
			t.Fatalf("err = %v, exit %d", err, rec.ExitCode)
		}
		if _, err := os.Stat(rec.LogPath); err != nil {
			t.Error("log not kept")
		}
		if _, err := os.Stat(rec.ProfilePath); !errors.Is(err, os.ErrNotExist) {
			t.Error("profile written for a failed run")
		}
	})
	t.Run("missing program", func(t *testing.T) {
		_, err := Record(context.Background(), nil, RecordOptions{Dir: t.TempDir(), Command: []string{"/nonexistent/prog"}})
		if err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("missing strace", func(t *testing.T) {
		_, err := Record(context.Background(), nil, RecordOptions{Dir: t.TempDir(), Command: []string{"true"}, Strace: "/nonexistent/strace"})
		if err == nil || !strings.Contains(err.Error(), "/nonexistent/strace") {
			t.Fatalf("err = %v", err)
		}
	})
}
