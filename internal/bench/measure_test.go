package bench

import (
	"bufio"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// measured is one run of the binary: wall time, peak RSS (VmHWM, the high-water mark of the
// process's memory map, which counts the pages of the executable mapped from the page cache:
// with syft linked in, that alone is ~80 MB on this kernel, whatever the image), peak
// anonymous RSS (the process's own memory: heap, stacks, buffers) and peak bytes under TMPDIR,
// all sampled every 10 ms from /proc and the directory.
//
// Not ru_maxrss: Go starts the child with CLONE_VM, and at exec the kernel folds the shared
// map's high-water mark, the benchmark process's own (1.5 GB with an in-process registry
// holding the image), into the child's ru_maxrss.
type measured struct {
	wall               time.Duration
	maxRSS, anon, temp int64
}

func runMeasured(tb testing.TB, bin string, args ...string) measured {
	tb.Helper()
	tmp := tb.TempDir()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	cmd.Stdout = io.Discard
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	var hwm, anon, temp atomic.Int64
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				h, a := memStatus(cmd.Process.Pid)
				hwm.Store(max(hwm.Load(), h))
				anon.Store(max(anon.Load(), a))
				temp.Store(max(temp.Load(), dirBytes(tmp)))
			}
		}
	}()
	err := cmd.Wait()
	wall := time.Since(start)
	close(done)
	if err != nil {
		tb.Fatalf("%v: %v\n%s", args, err, stderr.String())
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		tb.Fatalf("%v left %d entries in TMPDIR", args, len(left))
	}
	return measured{wall: wall, maxRSS: hwm.Load(), anon: anon.Load(), temp: temp.Load()}
}

// memStatus reads VmHWM and RssAnon, in bytes, from /proc/PID/status (0 once it is gone).
func memStatus(pid int) (hwm, anon int64) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	kb := func(v string) int64 {
		n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		return n << 10
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			hwm = kb(v)
		} else if v, ok := strings.CutPrefix(sc.Text(), "RssAnon:"); ok {
			anon = kb(v)
		}
	}
	return hwm, anon
}

func dirBytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

func bestOf(tb testing.TB, n int, f func() measured) measured {
	var b measured
	for i := range n {
		r := f()
		if i == 0 || r.wall < b.wall {
			b.wall = r.wall
		}
		b.maxRSS, b.anon, b.temp = max(b.maxRSS, r.maxRSS), max(b.anon, r.anon), max(b.temp, r.temp)
	}
	return b
}

func report(b *testing.B, prefix string, r measured) {
	b.ReportMetric(r.wall.Seconds(), prefix+"-s")
	b.ReportMetric(float64(r.maxRSS)/(1<<20), prefix+"-peak-RSS-MB")
	b.ReportMetric(float64(r.anon)/(1<<20), prefix+"-peak-anon-MB")
	b.ReportMetric(float64(r.temp)/(1<<20), prefix+"-peak-TMPDIR-MB")
}
