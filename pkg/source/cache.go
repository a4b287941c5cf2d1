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
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// CacheLayers makes the image's layers readable more than once for the price of one
// download: the first complete read of a layer's uncompressed stream is copied to a file in a
// new directory under dir ("" = os.TempDir(), that is $TMPDIR), and later reads open the file.
// A copy is kept only when its content hashes to the layer's diff ID, so a cut or corrupt
// download is fetched again. Close removes the directory.
//
// reuses is how many later reads the copies serve; the last one unlinks the copy as it opens
// it (the open file still reads), so disk space is given back layer by layer. 0 keeps the
// copies until Close.
//
// The scan command uses it for a registry image it also hands to syft (scan --sbom, reuses 1):
// both read every layer, and only the first read goes to the network. It costs disk space of
// at most the size of the uncompressed image.
func (i *Image) CacheLayers(dir string, reuses int) error {
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
	i.Image = &cachedImage{Image: i.Image, dir: tmp, reuses: reuses, served: map[string]int{}}
	return nil
}

type cachedImage struct {
	v1.Image
	dir    string
	reuses int

	mu     sync.Mutex
	served map[string]int // diff ID hex → reads served from the copy
}

// serve opens the copy at final, unlinking it when this is its last allowed reuse.
func (c *cachedImage) serve(final string) (*os.File, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, err := os.Open(final)
	if err != nil {
		return nil, err
	}
	key := filepath.Base(final)
	c.served[key]++
	if c.reuses > 0 && c.served[key] >= c.reuses {
		os.Remove(final)
	}
	return f, nil
}

func (c *cachedImage) Layers() ([]v1.Layer, error) {
	ls, err := c.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for i, l := range ls {
		out[i] = &cachedLayer{Layer: l, img: c}
	}
	return out, nil
}

func (c *cachedImage) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	l, err := c.Image.LayerByDiffID(h)
	if err != nil {
		return nil, err
	}
	return &cachedLayer{Layer: l, img: c}, nil
}

func (c *cachedImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	l, err := c.Image.LayerByDigest(h)
	if err != nil {
		return nil, err
	}
	return &cachedLayer{Layer: l, img: c}, nil
}

// cachedLayer serves Uncompressed from its copy once one is complete. The copy is named by the
// diff ID, so every wrapper of the same layer shares it; Compressed is not cached.
type cachedLayer struct {
	v1.Layer
	img *cachedImage
}

// StoredDigest passes through the stored-blob digest of imgharden's archive layers.
func (l *cachedLayer) StoredDigest() (v1.Hash, bool) {
	if sd, ok := l.Layer.(interface{ StoredDigest() (v1.Hash, bool) }); ok {
		return sd.StoredDigest()
	}
	return v1.Hash{}, false
}

// VerifiesDiffID tells the analysis engine that Uncompressed fails on a diff ID mismatch:
// the first read is hashed on its way to the copy, later reads serve the verified copy.
func (l *cachedLayer) VerifiesDiffID() bool {
	d, err := l.DiffID()
	return err == nil && d.Algorithm == "sha256"
}

func (l *cachedLayer) Uncompressed() (io.ReadCloser, error) {
	diffID, err := l.DiffID()
	if err != nil || diffID.Algorithm != "sha256" {
		return l.Layer.Uncompressed() // nothing to check a copy against
	}
	final := filepath.Join(l.img.dir, diffID.Hex)
	if f, err := l.img.serve(final); err == nil {
		return f, nil
	}
	rc, err := l.Layer.Uncompressed()
	if err != nil {
		return nil, err
	}
	t := &teeLayer{rc: rc, h: sha256.New(), want: diffID.Hex, final: final}
	if t.f, err = os.CreateTemp(l.img.dir, "partial-"); err != nil {
		t.f = nil // no room for a copy: the stream is still verified, just not kept
	}
	return t, nil
}

// teeLayer hashes what is read and copies it into a partial file. At the end of the stream it
// fails on a diff ID mismatch, as imgharden's other layer readers do, and otherwise moves the
// copy into place.
type teeLayer struct {
	rc    io.ReadCloser
	f     *os.File // nil when no copy is made (or it was abandoned)
	h     hash.Hash
	want  string
	final string
	done  bool
}

func (t *teeLayer) Read(p []byte) (int, error) {
	n, err := t.rc.Read(p)
	if t.done {
		return n, err
	}
	t.h.Write(p[:n])
	if n > 0 && t.f != nil {
		if _, werr := t.f.Write(p[:n]); werr != nil {
			t.abandon()
		}
	}
	if errors.Is(err, io.EOF) {
		t.done = true
		if got := hex.EncodeToString(t.h.Sum(nil)); got != t.want {
			t.abandon()
			return n, fmt.Errorf("layer sha256:%s: content does not match its diff ID: it hashes to sha256:%s", t.want, got)
		}
		t.commit()
	}
	return n, err
}

// commit moves a complete, verified copy into place.
func (t *teeLayer) commit() {
	if t.f == nil {
		return
	}
	name := t.f.Name()
	if t.f.Close() != nil || os.Rename(name, t.final) != nil {
		os.Remove(name)
	}
	t.f = nil
}

// abandon drops the copy.
func (t *teeLayer) abandon() {
	if t.f == nil {
		return
	}
	t.f.Close()
	os.Remove(t.f.Name())
	t.f = nil
}

func (t *teeLayer) Close() error {
	t.abandon() // closed before the end: the copy is incomplete (a no-op after commit)
	t.done = true
	return t.rc.Close()
}
