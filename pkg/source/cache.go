package source

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// CacheLayers makes the image's layers readable more than once for the price of one
// download: the first complete read of a layer's uncompressed stream is copied to a file in a
// new directory under dir ("" = os.TempDir(), that is $TMPDIR), and later reads open the file.
// A copy is kept only when its content hashes to the layer's diff ID, so a cut or corrupt
// download is fetched again. Close removes the directory.
//
// The scan command uses it for a registry image it also hands to syft (scan --sbom): both
// read every layer, and only the first read goes to the network. It costs disk space of the
// size of the uncompressed image.
func (i *Image) CacheLayers(dir string) error {
	tmp, err := os.MkdirTemp(dir, "imgharden-layers-")
	if err != nil {
		return fmt.Errorf("layer cache: %w", err)
	}
	prev := i.closeFn
	i.closeFn = func() error {
		var err error
		if prev != nil {
			err = prev()
		}
		return errors.Join(err, os.RemoveAll(tmp))
	}
	i.Image = &cachedImage{Image: i.Image, dir: tmp}
	return nil
}

type cachedImage struct {
	v1.Image
	dir string
}

func (c *cachedImage) Layers() ([]v1.Layer, error) {
	ls, err := c.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for i, l := range ls {
		out[i] = &cachedLayer{Layer: l, dir: c.dir}
	}
	return out, nil
}

func (c *cachedImage) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	l, err := c.Image.LayerByDiffID(h)
	if err != nil {
		return nil, err
	}
	return &cachedLayer{Layer: l, dir: c.dir}, nil
}

func (c *cachedImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	l, err := c.Image.LayerByDigest(h)
	if err != nil {
		return nil, err
	}
	return &cachedLayer{Layer: l, dir: c.dir}, nil
}

// cachedLayer serves Uncompressed from its copy once one is complete. The copy is named by the
// diff ID, so every wrapper of the same layer shares it; Compressed is not cached.
type cachedLayer struct {
	v1.Layer
	dir string
}

// StoredDigest passes through the stored-blob digest of imgharden's archive layers.
func (l *cachedLayer) StoredDigest() (v1.Hash, bool) {
	if sd, ok := l.Layer.(interface{ StoredDigest() (v1.Hash, bool) }); ok {
		return sd.StoredDigest()
	}
	return v1.Hash{}, false
}

func (l *cachedLayer) Uncompressed() (io.ReadCloser, error) {
	diffID, err := l.DiffID()
	if err != nil || diffID.Algorithm != "sha256" {
		return l.Layer.Uncompressed() // nothing to check a copy against
	}
	final := filepath.Join(l.dir, diffID.Hex)
	if f, err := os.Open(final); err == nil {
		return f, nil
	}
	rc, err := l.Layer.Uncompressed()
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(l.dir, "partial-")
	if err != nil {
		return rc, nil // no room for a copy: serve the stream uncached
	}
	return &teeLayer{rc: rc, f: f, h: sha256.New(), want: diffID.Hex, final: final}, nil
}

// teeLayer copies what is read into a partial file and moves it into place at the end of
// the stream, when the content matches the diff ID.
type teeLayer struct {
	rc     io.ReadCloser
	f      *os.File
	h      hash.Hash
	want   string
	final  string
	failed bool // a write failed: the copy is abandoned, the stream goes on
	done   bool
}

func (t *teeLayer) Read(p []byte) (int, error) {
	n, err := t.rc.Read(p)
	if n > 0 && !t.failed && !t.done {
		t.h.Write(p[:n])
		if _, werr := t.f.Write(p[:n]); werr != nil {
			t.failed = true
		}
	}
	if errors.Is(err, io.EOF) && !t.done {
		t.done = true
		t.commit()
	}
	return n, err
}

func (t *teeLayer) commit() {
	name := t.f.Name()
	cerr := t.f.Close()
	if t.failed || cerr != nil || hex.EncodeToString(t.h.Sum(nil)) != t.want || os.Rename(name, t.final) != nil {
		os.Remove(name)
	}
}

func (t *teeLayer) Close() error {
	if !t.done { // closed before the end: the copy is incomplete
		t.done = true
		t.f.Close()
		os.Remove(t.f.Name())
	}
	return t.rc.Close()
}
