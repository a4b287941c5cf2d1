package checks

import (
	"runtime"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
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
