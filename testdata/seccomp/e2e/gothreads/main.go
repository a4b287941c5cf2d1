// gothreads is the multi-threaded Go workload of the seccomp end-to-end tests: it runs
// goroutines pinned to OS threads (so the Go runtime must create threads), passes work
// between them over channels and checks the result. Built statically by the test.
package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
)

func main() {
	const workers = 8
	jobs := make(chan int)
	results := make(chan [32]byte, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread() // one OS thread per worker
			h := sha256.New()
			for j := range jobs {
				fmt.Fprintf(h, "%d;", j)
				time.Sleep(time.Millisecond)
			}
			var sum [32]byte
			copy(sum[:], h.Sum(nil))
			results <- sum
		}()
	}
	for i := 0; i < 400; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(results)
	n := 0
	for range results {
		n++
	}
	if n != workers {
		fmt.Fprintf(os.Stderr, "gothreads: %d results, want %d\n", n, workers)
		os.Exit(1)
	}
	tmp, err := os.CreateTemp("", "gothreads-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "gothreads:", err)
		os.Exit(1)
	}
	os.Remove(tmp.Name())
	tmp.Close()
	fmt.Printf("gothreads: %d workers on %d threads ok\n", workers, workers)
}
