package analyze_test

import (
	"bytes"
	"context"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/imgharden/imgharden/internal/imagetest"
	"github.com/imgharden/imgharden/pkg/analyze"
)

// FuzzWalkLayer feeds arbitrary bytes to the layer walker as a layer. Whatever the input, the
// engine returns findings or an error; it never panics, and every path it reports stays
// inside the image root.
func FuzzWalkLayer(f *testing.F) {
	f.Add(imagetest.LayerTar(f, imagetest.Layer{Files: []imagetest.File{
		imagetest.Dir("/etc/"), imagetest.Reg("/etc/passwd", "root:x:0:0::/root:/bin/sh"),
		imagetest.Symlink("/bin/sh", "busybox"), imagetest.Hardlink("/bin/nc", "/bin/busybox"),
	}, Whiteouts: []string{"/tmp/x"}, Opaque: []string{"/var"}}))
	f.Add(imagetest.LayerTar(f, imagetest.Layer{Files: []imagetest.File{
		{Path: "/x", RawName: "../../escape", Content: "SECRET"},
		imagetest.Symlink("/a", "/b"), imagetest.Symlink("/b", "/a"),
	}}))
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0}, 1024))
	base := imagetest.Image(f, v1.Config{})
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := mutate.AppendLayers(base, static.NewLayer(data, types.OCIUncompressedLayer))
		if err != nil {
			t.Skip()
		}
		res, err := analyze.New(analyze.WithChecks(contentCheck{}, passwdRetainer{new(string)}), analyze.WithMaxFileSize(64)).Run(context.Background(), img)
		if err != nil {
			return
		}
		_ = res.View.Walk(func(e *analyze.Entry) error {
			if e.Path == "" || e.Path[0] != '/' || bytes.Contains([]byte(e.Path), []byte("/../")) {
				t.Fatalf("entry path %q escapes the root", e.Path)
			}
			_, _ = res.View.Resolve(e.Path)
			return nil
		})
	})
}
