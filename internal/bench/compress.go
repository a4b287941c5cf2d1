package bench

import (
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// gzipLayers rebuilds img with gzip-compressed layers, as a registry would hold it.
func gzipLayers(img v1.Image) (v1.Image, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	out := empty.Image
	for _, l := range layers {
		gl, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return l.Uncompressed() })
		if err != nil {
			return nil, err
		}
		if out, err = mutate.AppendLayers(out, gl); err != nil {
			return nil, err
		}
	}
	base, err := out.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.RootFS = base.RootFS
	return mutate.ConfigFile(out, cf)
}
