package checks

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	st "github.com/imgharden/imgharden/internal/secrettest"
	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
	"github.com/imgharden/imgharden/pkg/secret"
)

type benchFile struct {
	e    analyze.Entry
	data []byte
}

type memBody struct {
	data []byte
	max  int
}

func (b *memBody) Bytes() ([]byte, error) { return b.data[:min(len(b.data), b.max)], nil }
func (b *memBody) Truncated() bool        { return len(b.data) > b.max }

type countReporter struct{ n int }

func (c *countReporter) Report(*analyze.Entry, finding.Finding) { c.n++ }

const benchMaxFileSize = 8 << 20 // the engine's default cap

// benchCorpus is a realistic mix of image content: the Go distribution's source tree (Go,
// assembly, C, scripts, docs, JSON, test data including binaries and test keys) placed under
// /srv/app so that it is analyzed as application files (the toolchain's own path is skipped),
// the Go toolchain's ELF executables (as big binaries), and application configuration files,
// some holding secrets. Everything is read from GOROOT, so it is the same on every machine with
// the same Go version.
func benchCorpus(b *testing.B) (files []benchFile, text, binary int64) {
	b.Helper()
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		b.Skipf("no go command: %v", err)
	}
	goroot := strings.TrimSpace(string(out))
	const srcBudget, binBudget = 48 << 20, 32 << 20
	var paths []string
	_ = filepath.WalkDir(filepath.Join(goroot, "src"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			paths = append(paths, p)
		}
		return nil
	})
	sort.Strings(paths)
	var srcBytes int64
	for _, p := range paths {
		if srcBytes >= srcBudget {
			break
		}
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		srcBytes += int64(len(data))
		files = append(files, benchFile{analyze.Entry{Path: "/srv/app" + strings.TrimPrefix(p, goroot), Mode: 0o644, Size: int64(len(data))}, data})
	}
	tools, _ := filepath.Glob(filepath.Join(goroot, "pkg", "tool", "*", "*"))
	sort.Strings(tools)
	var binBytes int64
	for _, p := range tools {
		if binBytes >= binBudget {
			break
		}
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		binBytes += int64(min(len(data), benchMaxFileSize))
		files = append(files, benchFile{analyze.Entry{Path: "/usr/local/bin/" + filepath.Base(p), Mode: 0o755, Size: int64(len(data))}, data})
	}
	for i := range 2000 {
		var c string
		switch i % 4 {
		case 0:
			c = fmt.Sprintf("DEBUG=false\nLOG_LEVEL=info\nDB_HOST=db-%d\nDB_USER=app\nDB_PASSWORD=${DB_PASSWORD}\nPORT=8080\n", i)
		case 1:
			c = fmt.Sprintf("server:\n  port: 8080\n  name: svc-%d\ndatabase:\n  url: postgres://app@db/app\n  pool: 10\nfeatures: [a, b, c]\n", i)
		case 2:
			c = fmt.Sprintf(`{"name": "svc-%d", "version": "1.0.%d", "dependencies": {"express": "^4.19.2", "pg": "^8.11.0"}, "scripts": {"start": "node index.js"}}`, i, i)
		default:
			c = fmt.Sprintf("[service]\nname = svc-%d\nworkers = 4\n[auth]\nissuer = https://auth.example.org\naudience = api\n", i)
		}
		if i%20 == 0 { // one config in twenty leaks something
			c += "API_TOKEN=" + st.GitHub(uint64(i)) + "\nDB_PASSWORD=" + st.Password(uint64(i)) + "\n"
		}
		ext := []string{".env", ".yaml", ".json", ".ini"}[i%4]
		files = append(files, benchFile{analyze.Entry{Path: fmt.Sprintf("/app/conf/%d%s", i, ext), Mode: 0o644, Size: int64(len(c))}, []byte(c)})
	}
	for _, f := range files {
		n := int64(min(len(f.data), benchMaxFileSize))
		if secret.IsBinary(f.data[:min(len(f.data), benchMaxFileSize)]) {
			binary += n
		} else {
			text += n
		}
	}
	return files, text, binary
}

// BenchmarkSecretScan runs the secret content check the way the engine does (Wants on
// metadata, then CheckFile on a body capped at 8 MiB) over a realistic mix of text and binary
// files. MB/s is over all bytes offered to the check; text-MB/s over the text bytes only,
// which is where the time goes (binaries stop after an 8 KiB sniff). The /cpu-s figures divide
// by the CPU time the process used instead of wall-clock time, for shared machines.
//
//	go test ./pkg/analyze/checks -run '^$' -bench BenchmarkSecretScan -benchmem
func BenchmarkSecretScan(b *testing.B) {
	files, text, binary := benchCorpus(b)
	total := text + binary
	b.Logf("corpus: %d files, %.1f MB text, %.1f MB binary", len(files), float64(text)/1e6, float64(binary)/1e6)
	c := secretContent{}
	ctx := context.Background()
	rep := &countReporter{}
	body := &memBody{max: benchMaxFileSize}
	b.SetBytes(total)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		rep.n = 0
		for i := range files {
			f := &files[i]
			if !c.Wants(&f.e) {
				continue
			}
			body.data = f.data
			if err := c.CheckFile(ctx, &f.e, body, rep); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	sec := b.Elapsed().Seconds() / float64(b.N)
	cpu := (cpuTime() - cpu0).Seconds() / float64(b.N)
	b.ReportMetric(float64(text)/1e6/sec, "text-MB/s")
	if cpu > 0 {
		b.ReportMetric(float64(total)/1e6/cpu, "MB/cpu-s")
		b.ReportMetric(float64(text)/1e6/cpu, "text-MB/cpu-s")
	}
	b.ReportMetric(float64(rep.n), "findings/op")
	b.ReportMetric(float64(len(files)), "files/op")
}
