package source_test

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgharden/imgharden/pkg/source"
)

// blobCounter counts GETs of blobs by digest.
type blobCounter struct {
	mu   sync.Mutex
	gets map[string]int
	next http.Handler
}

func (b *blobCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if i := strings.Index(r.URL.Path, "/blobs/"); i >= 0 && r.Method == http.MethodGet {
		b.mu.Lock()
		b.gets[r.URL.Path[i+len("/blobs/"):]]++
		b.mu.Unlock()
	}
	b.next.ServeHTTP(w, r)
}

func (b *blobCounter) count(h v1.Hash) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.gets[h.String()]
}

// readLayers reads every layer's uncompressed stream, n bytes of it when n >= 0.
func readLayers(t *testing.T, img v1.Image, n int64) [][]byte {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, l := range ls {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = rc
		if n >= 0 {
			r = io.LimitReader(rc, n)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		rc.Close()
		out = append(out, b)
	}
	return out
}

func TestCacheLayersDownloadsOnce(t *testing.T) {
	tmp := t.TempDir()
	counter := &blobCounter{gets: map[string]int{}, next: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	srv := httptest.NewServer(counter)
	t.Cleanup(srv.Close)
	ref := strings.TrimPrefix(srv.URL, "http://") + "/app:v1"
	img := testImage(t)
	r, err := source.Parse(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := source.Write(context.Background(), img, r); err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	digests := make([]v1.Hash, len(layers))
	for i, l := range layers {
		if digests[i], err = l.Digest(); err != nil {
			t.Fatal(err)
		}
	}
	want := readLayers(t, img, -1)

	tests := []struct {
		name    string
		cache   bool
		reuses  int
		partial bool // read 10 bytes of each layer first, then close
		reads   int
		gets    int // GETs of each layer blob
	}{
		{"uncached: every read downloads", false, 0, false, 2, 2},
		{"cached: one download for two reads", true, 0, false, 2, 1},
		{"cached: three reads", true, 0, false, 3, 1},
		{"cached: a cut-short read is not kept", true, 0, true, 2, 2},
		{"one reuse: the second read frees the copy", true, 1, false, 2, 1},
		{"one reuse: a third read downloads again", true, 1, false, 3, 2},
		{"two reuses", true, 2, false, 3, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			counter.mu.Lock()
			counter.gets = map[string]int{}
			counter.mu.Unlock()
			opened, err := source.Open(context.Background(), r)
			if err != nil {
				t.Fatal(err)
			}
			defer opened.Close()
			if tt.cache {
				if err := opened.CacheLayers(tmp, tt.reuses); err != nil {
					t.Fatal(err)
				}
			}
			if tt.partial {
				readLayers(t, opened, 10)
			}
			for i := range tt.reads {
				got := readLayers(t, opened, -1)
				for j := range want {
					if !bytes.Equal(got[j], want[j]) {
						t.Fatalf("read %d: layer %d differs from the image's", i, j)
					}
				}
			}
			copies, _ := filepath.Glob(filepath.Join(tmp, "imgharden-layers-*", "*"))
			if wantCopies := tt.cache && (tt.reuses == 0 || tt.reads != tt.reuses+1); (len(copies) > 0) != wantCopies {
				t.Errorf("copies on disk before Close: %q, want some: %v", copies, wantCopies)
			}
			for i, d := range digests {
				if n := counter.count(d); n != tt.gets {
					t.Errorf("layer %d fetched %d times, want %d", i, n, tt.gets)
				}
			}
			if err := opened.Close(); err != nil {
				t.Fatal(err)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("Close left %d entries in the cache directory's parent", len(left))
			}
		})
	}
}

// lyingLayer claims another layer's diff ID and counts the reads of its content.
type lyingLayer struct {
	v1.Layer
	diffID v1.Hash
	reads  *int
}

func (l lyingLayer) DiffID() (v1.Hash, error) { return l.diffID, nil }
func (l lyingLayer) Uncompressed() (io.ReadCloser, error) {
	*l.reads++
	return l.Layer.Uncompressed()
}

type layersImage struct {
	v1.Image
	layers []v1.Layer
}

func (i layersImage) Layers() ([]v1.Layer, error) { return i.layers, nil }

func TestCacheLayersKeepsOnlyVerifiedCopies(t *testing.T) {
	img := testImage(t)
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	other, err := ls[1].DiffID()
	if err != nil {
		t.Fatal(err)
	}
	reads := 0
	src := &source.Image{Image: layersImage{Image: img, layers: []v1.Layer{lyingLayer{Layer: ls[0], diffID: other, reads: &reads}}}}
	tmp := t.TempDir()
	if err := src.CacheLayers(tmp, 0); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		cls, _ := src.Layers()
		rc, err := cls[0].Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.ReadAll(rc)
		rc.Close()
		if err == nil || !strings.Contains(err.Error(), "does not match its diff ID") {
			t.Errorf("read %d: %v, want a diff ID mismatch", i, err)
		}
		if v, ok := cls[0].(interface{ VerifiesDiffID() bool }); !ok || !v.VerifiesDiffID() {
			t.Error("a cached layer must tell the engine it verifies its diff ID")
		}
	}
	if reads != 2 {
		t.Errorf("a layer whose content does not match its diff ID was read %d times from the source, want 2 (never cached)", reads)
	}
	dirs, _ := filepath.Glob(filepath.Join(tmp, "imgharden-layers-*", "*"))
	if len(dirs) != 0 {
		t.Errorf("cache holds %q", dirs)
	}
	src.Close()
}

// The engine names layers by their stored blob digest when an archive layer knows it: the
// cache must answer as the layer it wraps.
func TestCacheLayersKeepsStoredDigest(t *testing.T) {
	dir := t.TempDir()
	ref, err := source.Parse("docker-archive:" + filepath.Join(dir, "d.tar") + ":example.com/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := source.Write(context.Background(), testImage(t), ref); err != nil {
		t.Fatal(err)
	}
	ref, _ = source.Parse("docker-archive:" + filepath.Join(dir, "d.tar"))
	img, err := source.Open(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	stored := func(l v1.Layer) (v1.Hash, bool) {
		if sd, ok := l.(interface{ StoredDigest() (v1.Hash, bool) }); ok {
			return sd.StoredDigest()
		}
		return v1.Hash{}, false
	}
	before, _ := img.Layers()
	if err := img.CacheLayers(dir, 0); err != nil {
		t.Fatal(err)
	}
	after, _ := img.Layers()
	for i := range before {
		w, wok := stored(before[i])
		g, gok := stored(after[i])
		if w != g || wok != gok {
			t.Errorf("layer %d: stored digest %s (%v), cached %s (%v)", i, w, wok, g, gok)
		}
	}
}
