package source

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ErrDestinationExists is returned when writing would replace a file the user already has.
var ErrDestinationExists = errors.New("destination already exists")

// Write stores img at dst. Archives are written to a temporary file beside the destination
// and renamed into place, and never replace an existing file. An OCI layout directory gets the
// image appended (tagged with dst's tag), keeping what it held. Registry writes go through
// ggcr's remote.Write.
func Write(ctx context.Context, img v1.Image, dst Ref, opts ...Option) error {
	o := makeOptions(opts)
	switch dst.Transport {
	case Registry:
		r, err := ParseRegistryRef(dst.Name, o.Insecure)
		if err != nil {
			return err
		}
		if err := remote.Write(r, img, remoteOptions(ctx, o)...); err != nil {
			return fmt.Errorf("registry %s: %w", r.Context().RegistryStr(), err)
		}
		return nil
	case OCILayout:
		return writeLayout(img, dst)
	case DockerArchive:
		tag, err := archiveTag(dst.Name)
		if err != nil {
			return err
		}
		return writeNew(dst.Path, func(w io.Writer) error {
			if tag == nil {
				return tarball.Write(nil, img, w)
			}
			return tarball.Write(*tag, img, w)
		})
	case OCIArchive:
		return writeNew(dst.Path, func(w io.Writer) error { return writeOCIArchive(w, img, dst.Name) })
	default:
		return fmt.Errorf("%w: cannot write to transport %q", ErrBadReference, dst.Transport)
	}
}

func archiveTag(s string) (*name.Tag, error) {
	if s == "" {
		return nil, nil
	}
	t, err := name.NewTag(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadReference, s, err)
	}
	return &t, nil
}

// writeNew writes a new file atomically and refuses to replace an existing one.
func writeNew(p string, fill func(io.Writer) error) error {
	if _, err := os.Lstat(p); err == nil {
		return fmt.Errorf("%s: %w (remove it or choose another path)", p, ErrDestinationExists)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".imgharden-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := fill(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: %w", p, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	// Link fails when p appeared meanwhile, so a concurrent writer's file is never replaced.
	if err := os.Link(tmp.Name(), p); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: %w", p, ErrDestinationExists)
		}
		return err
	}
	return nil
}

func writeLayout(img v1.Image, dst Ref) error {
	var annotations map[string]string
	if dst.Name != "" {
		annotations = map[string]string{refNameAnnotation: dst.Name}
	}
	lp, err := layout.FromPath(dst.Path)
	if err != nil {
		entries, rerr := os.ReadDir(dst.Path)
		if rerr == nil && len(entries) > 0 {
			return fmt.Errorf("oci:%s: directory is not empty and is not an OCI layout: %w", dst.Path, ErrDestinationExists)
		}
		if lp, err = layout.Write(dst.Path, empty.Index); err != nil {
			return fmt.Errorf("oci:%s: %w", dst.Path, err)
		}
	}
	if err := lp.AppendImage(img, layout.WithAnnotations(annotations)); err != nil {
		return fmt.Errorf("oci:%s: %w", dst.Path, err)
	}
	return nil
}

// writeOCIArchive streams an OCI layout into a tar: oci-layout, index.json, then the blobs.
func writeOCIArchive(w io.Writer, img v1.Image, tag string) error {
	tw := tar.NewWriter(w)
	add := func(name string, size int64, r io.Reader) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := io.Copy(tw, r)
		return err
	}
	addBytes := func(name string, b []byte) error { return add(name, int64(len(b)), bytes.NewReader(b)) }

	rawMan, err := img.RawManifest()
	if err != nil {
		return err
	}
	mt, err := img.MediaType()
	if err != nil {
		return err
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	desc := v1.Descriptor{MediaType: mt, Digest: d, Size: int64(len(rawMan))}
	if tag != "" {
		desc.Annotations = map[string]string{refNameAnnotation: tag}
	}
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{desc}}
	rawIdx, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	if err := addBytes("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	if err := addBytes("index.json", rawIdx); err != nil {
		return err
	}
	if err := addBytes(blobPath(d), rawMan); err != nil {
		return err
	}
	rawCfg, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	cfgName, err := img.ConfigName()
	if err != nil {
		return err
	}
	if err := addBytes(blobPath(cfgName), rawCfg); err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	seen := map[v1.Hash]bool{}
	for _, l := range layers {
		ld, err := l.Digest()
		if err != nil {
			return err
		}
		if seen[ld] {
			continue
		}
		seen[ld] = true
		size, err := l.Size()
		if err != nil {
			return err
		}
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		err = add(blobPath(ld), size, rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("layer %s: %w", ld, err)
		}
	}
	return tw.Close()
}
