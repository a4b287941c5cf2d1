package secret

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// textCorpus is up to 32 MB of the Go distribution's source text (binary files left out).
func textCorpus(b *testing.B) [][]byte {
	b.Helper()
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		b.Skipf("no go command: %v", err)
	}
	var paths []string
	_ = filepath.WalkDir(filepath.Join(strings.TrimSpace(string(out)), "src"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			paths = append(paths, p)
		}
		return nil
	})
	sort.Strings(paths)
	var files [][]byte
	total := 0
	for _, p := range paths {
		if total >= 32<<20 {
			break
		}
		if data, err := os.ReadFile(p); err == nil && !IsBinary(data) {
			files = append(files, data)
			total += len(data)
		}
	}
	return files
}

// BenchmarkDetect measures the detector alone on source text, in both modes.
//
//	go test ./pkg/secret -run '^$' -bench BenchmarkDetect -benchmem
func BenchmarkDetect(b *testing.B) {
	files := textCorpus(b)
	var total int64
	for _, f := range files {
		total += int64(len(f))
	}
	for _, mode := range []struct {
		name string
		m    Mode
	}{{"tokens", ModeTokens}, {"config", ModeConfig}} {
		b.Run(mode.name, func(b *testing.B) {
			b.SetBytes(total)
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				for _, f := range files {
					Detect(f, mode.m)
				}
			}
			if cpu := (cpuTime() - cpu0).Seconds(); cpu > 0 {
				b.ReportMetric(float64(total)*float64(b.N)/1e6/cpu, "MB/cpu-s")
			}
		})
	}
}
