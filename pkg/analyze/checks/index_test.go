package checks

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
)

func indexCount() int {
	n := 0
	indexes.Range(func(any, any) bool { n++; return true })
	return n
}

// TestIndexPerView checks that two images scanned by the same check values do not share an
// index, and that an index goes away with its View.
func TestIndexPerView(t *testing.T) {
	a := scanView(t, image(t, v1.Config{}, exe("/bin/sh")))
	b := scanView(t, image(t, v1.Config{}, exe("/bin/bash"), exe("/bin/dash")))
	if got := len(tools(a)); got != 1 {
		t.Fatalf("tools(a) = %d, want 1", got)
	}
	if got := len(tools(b)); got != 2 {
		t.Fatalf("tools(b) = %d, want 2", got)
	}
	if indexOf(a) == indexOf(b) || indexOf(a) != indexOf(a) {
		t.Fatal("indexes are not per View")
	}
	before := indexCount()
	runtime.KeepAlive(a)
	runtime.KeepAlive(b)
	deadline := time.Now().Add(10 * time.Second)
	for indexCount() > before-2 {
		if time.Now().After(deadline) {
			t.Fatalf("indexes of collected views are still cached: %d, want at most %d", indexCount(), before-2)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

// TestConcurrentRuns runs one engine with the default checks over several images at once:
// each run must see only its own image (go test -race checks the shared index).
func TestConcurrentRuns(t *testing.T) {
	imgs := []v1.Image{
		image(t, v1.Config{}, exe("/bin/sh"), exe("/usr/bin/curl")),
		image(t, v1.Config{User: "10001"}, exe("/usr/bin/gcc"), reg("/app/.env", "X=1")),
		image(t, v1.Config{}, exe("/bin/busybox"), symlink("/bin/wget", "busybox")),
	}
	eng := analyze.New(analyze.WithChecks(Default()...))
	want := make([][]string, len(imgs))
	for i, img := range imgs {
		res, err := eng.Run(context.Background(), img)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = findingKeys(res.Findings)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4*len(imgs))
	for round := 0; round < 4; round++ {
		for i, img := range imgs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := eng.Run(context.Background(), img)
				if err != nil {
					errs <- err.Error()
					return
				}
				if got := findingKeys(res.Findings); !slices.Equal(got, want[i]) {
					errs <- fmt.Sprintf("image %d: got %q, want %q", i, got, want[i])
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func findingKeys(fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.RuleID+" "+f.Location.Path)
	}
	slices.Sort(out)
	return out
}
