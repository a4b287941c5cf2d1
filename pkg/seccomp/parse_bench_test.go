package seccomp

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// BenchmarkParse measures parse throughput and memory on a large log made in b.TempDir() by
// repeating the corpus's full logs (every output variant, PIDs, resumed calls, program output).
// The size-20MB and size-200MB cases allocate the same: memory does not grow with the log.
//
//	go test ./pkg/seccomp -run '^$' -bench Parse -benchtime 3x -cpu 1
//
// MB/s is wall time; MB/cpu-s is the process's CPU time (GC included), the steadier figure on
// a machine shared with other work.
func BenchmarkParse(b *testing.B) {
	for _, mb := range []int{20, 200} {
		b.Run(fmt.Sprintf("size-%dMB", mb), func(b *testing.B) {
			path := bigLog(b, int64(mb)<<20)
			st, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			lg, err := ExpandLog(path)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(st.Size())
			b.ReportAllocs()
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			cpu0 := cpuTime(b)
			b.ResetTimer()
			var tr *Trace
			for b.Loop() {
				tr, err = Parse(context.Background(), []Log{lg})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			cpu := (cpuTime(b) - cpu0).Seconds() / float64(b.N)
			runtime.ReadMemStats(&after)
			if tr.Syscalls.Len(X8664) < 50 {
				b.Fatalf("parsed only %d syscalls", tr.Syscalls.Len(X8664))
			}
			secs := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(float64(st.Size())/1e6/secs, "MB/s")
			// CPU time, not wall time: on a shared machine this is what the parser costs.
			b.ReportMetric(float64(st.Size())/1e6/cpu, "MB/cpu-s")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/(1<<10), "KiB-alloc/op")
			b.ReportMetric(float64(after.HeapSys)/(1<<20), "MiB-heap-sys")
			b.ReportMetric(float64(tr.Stats.Lines)/secs/1e6, "Mlines/s")
		})
	}
}

// cpuTime is the user+system CPU time of this process so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// bigLog writes a log of at least size bytes built from the corpus's full logs.
func bigLog(b *testing.B, size int64) string {
	b.Helper()
	var chunk []byte
	for _, name := range corpusDirs(b) {
		if _, partial := partialCorpus[name]; partial {
			continue
		}
		lg := corpusLog(b, filepath.Join(corpusDir, name))
		for _, f := range lg.Files {
			data, err := os.ReadFile(f.Name)
			if err != nil {
				b.Fatal(err)
			}
			chunk = append(chunk, data...)
		}
	}
	path := filepath.Join(b.TempDir(), "big.log")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for n := int64(0); n < size; n += int64(len(chunk)) {
		if _, err := w.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}
