//go:build e2e

package e2e

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/daemon"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Open reads the fixture through one input form with go-containerregistry, independently of
// imgharden's own loader: the tests use it to prove what each exported form holds.
func (im *Image) Open(t testing.TB, tr Transport) v1.Image {
	t.Helper()
	img, err := im.open(t.Context(), t.TempDir, tr)
	if err != nil {
		t.Fatalf("open %s: %v", im.Ref(tr), err)
	}
	return img
}

func (im *Image) open(ctx context.Context, tempDir func() string, tr Transport) (v1.Image, error) {
	switch tr {
	case DockerArchive:
		return tarball.ImageFromPath(im.DockerArchivePath, nil)
	case OCILayout:
		return openLayout(im.OCILayoutDir, im.Tag)
	case OCIArchive:
		dir := tempDir()
		if err := untar(im.OCIArchivePath, dir); err != nil {
			return nil, err
		}
		return openLayout(dir, im.Tag)
	case Registry:
		ref, err := name.ParseReference(im.RegistryRef) // 127.0.0.1 ⇒ plain HTTP
		if err != nil {
			return nil, err
		}
		return remote.Image(ref, remote.WithContext(ctx))
	case Daemon:
		ref, err := name.ParseReference(im.Local)
		if err != nil {
			return nil, err
		}
		return daemon.Image(ref, daemon.WithContext(ctx), daemon.WithFileBufferedOpener())
	}
	return nil, fmt.Errorf("unknown transport %q", tr)
}

// openLayout returns the image tagged tag (annotation org.opencontainers.image.ref.name) in the
// OCI layout at dir.
func openLayout(dir, tag string) (v1.Image, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, err
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range m.Manifests {
		if d.Annotations["org.opencontainers.image.ref.name"] == tag {
			return idx.Image(d.Digest)
		}
	}
	return nil, fmt.Errorf("%s: no image tagged %q", dir, tag)
}

// untar extracts the regular files and directories of a tarball (an oci-archive) into dir,
// refusing names that would land outside it.
func untar(path, dir string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		target := filepath.Join(dir, filepath.FromSlash(hdr.Name))
		if target != dir && !strings.HasPrefix(target, dir+string(filepath.Separator)) {
			return fmt.Errorf("%s: entry %q escapes the archive", path, hdr.Name)
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			out, err := os.Create(target)
			if err != nil {
				return err
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: unexpected entry %q (type %c) in an oci-archive", path, hdr.Name, hdr.Typeflag)
		}
	}
}
