package checks

import (
	"context"
	"fmt"
	"io/fs"
	"testing"
	"weak"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgharden/imgharden/internal/imagetest"
	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
)

type discard struct{ n int }

func (d *discard) Report(*analyze.Entry, finding.Finding) { d.n++ }

// benchImage is a distro-like tree of about n entries: bin directories with a few hundred
// executables and links, and deep library and data trees, with some hits for every rule.
func benchImage(b *testing.B, n int) v1.Image {
	var files []imagetest.File
	for _, d := range []string{"/bin/", "/usr/", "/usr/bin/", "/usr/sbin/", "/usr/lib/", "/usr/share/", "/etc/", "/var/", "/app/"} {
		files = append(files, dir(d))
	}
	for i := 0; i < 400; i++ {
		files = append(files, exe(fmt.Sprintf("/usr/bin/tool%d", i)), symlink(fmt.Sprintf("/usr/sbin/alias%d", i), fmt.Sprintf("../bin/tool%d", i)))
	}
	files = append(files, exe("/bin/busybox"), symlink("/bin/sh", "busybox"), symlink("/bin/wget", "busybox"),
		exe("/usr/bin/gcc-12"), exe("/usr/bin/apt-get"), withMode(exe("/usr/bin/su"), 0o755|fs.ModeSetuid),
		reg("/app/.git/HEAD", "ref"), reg("/var/lib/apt/lists/x_Packages", "x"), reg("/app/.env", "X=1"),
		withMode(reg("/app/ww", "x"), 0o666), reg("/etc/passwd", "root:x:0:0::/root:/bin/sh\n"))
	for i := 0; len(files) < n; i++ {
		d := fmt.Sprintf("/usr/lib/pkg%d/sub%d/", i/50, i%50)
		files = append(files, dir(d))
		for j := 0; j < 20; j++ {
			files = append(files, reg(fmt.Sprintf("%sfile%d.so", d, j), ""))
		}
	}
	return imagetest.Image(b, v1.Config{Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin"}}, imagetest.Layer{Files: files})
}

// BenchmarkImageChecks measures the built-in image checks alone, over the merged view of an
// image with 50,000 entries (the layer walk is the engine's and is not included).
func BenchmarkImageChecks(b *testing.B) {
	res, err := analyze.New(analyze.WithChecks(Default()...)).Run(context.Background(), benchImage(b, 50_000))
	if err != nil {
		b.Fatal(err)
	}
	entries := 0
	_ = res.View.Walk(func(*analyze.Entry) error { entries++; return nil })
	checks := Default()
	// The floor: one walk of the view with an empty callback. Most checks cost about one walk.
	b.Run("view-walk", func(b *testing.B) {
		for b.Loop() {
			_ = res.View.Walk(func(*analyze.Entry) error { return nil })
		}
	})
	// All image checks of Default(), as one run executes them.
	b.Run("all", func(b *testing.B) {
		var rep discard
		for b.Loop() {
			indexes.Delete(weak.Make(res.View)) // measure the walk that builds the index too
			for _, c := range checks {
				if ic, ok := c.(analyze.ImageCheck); ok {
					if err := ic.CheckImage(context.Background(), res.View, &rep); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
		b.ReportMetric(float64(entries), "entries")
	})
	// Each check alone, on a View whose index is already built.
	for _, c := range checks {
		ic, ok := c.(analyze.ImageCheck)
		if !ok {
			continue
		}
		b.Run(c.Rules()[0].Slug, func(b *testing.B) {
			var rep discard
			for b.Loop() {
				if err := ic.CheckImage(context.Background(), res.View, &rep); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
