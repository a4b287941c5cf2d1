package source

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// store gives access to the files of an archive or layout directory by slash-separated name.
type store interface {
	open(name string) (io.ReadCloser, int64, error)
	close() error
}

// maxMetadata bounds the JSON documents (index, manifests, configs) read into memory.
const maxMetadata = 32 << 20

func readAll(s store, name string) ([]byte, error) {
	rc, size, err := s.open(name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if size > maxMetadata {
		return nil, fmt.Errorf("%s: %d bytes is too large for a metadata file", name, size)
	}
	b, err := io.ReadAll(io.LimitReader(rc, maxMetadata+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return b, nil
}

// dirStore reads files under a directory. Names are cleaned and confined to the directory.
type dirStore struct{ root string }

func (d dirStore) open(name string) (io.ReadCloser, int64, error) {
	clean := path.Clean("/" + name)[1:]
	if clean == "" || !fs.ValidPath(clean) {
		return nil, 0, fmt.Errorf("%s: invalid name", name)
	}
	p := filepath.Join(d.root, filepath.FromSlash(clean))
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, 0, err
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("%s: not a regular file", name)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

func (dirStore) close() error { return nil }

// tarStore indexes a tar file once (headers only, skipping bodies with Seek) and serves
// members as section readers: nothing is extracted.
type tarStore struct {
	f       *os.File
	path    string
	members map[string]section
}

type section struct{ off, size int64 }

func openTarStore(p string) (*tarStore, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	var magic [512]byte
	n, _ := io.ReadFull(f, magic[:])
	if n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		f.Close()
		return nil, fmt.Errorf("%s: the archive is gzip-compressed; decompress it first (gunzip)", p)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	ts := &tarStore{f: f, path: p, members: map[string]section{}}
	links := map[string]string{}
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: not a valid tar archive: %w", p, err)
		}
		if hdr.Typeflag != tar.TypeReg && hdr.Typeflag != tar.TypeSymlink && hdr.Typeflag != tar.TypeLink {
			continue
		}
		name := path.Clean("/" + hdr.Name)[1:]
		switch hdr.Typeflag {
		case tar.TypeReg:
			off, err := f.Seek(0, io.SeekCurrent)
			if err != nil {
				f.Close()
				return nil, err
			}
			ts.members[name] = section{off: off, size: hdr.Size}
		default:
			// docker save writes layer files as links to shared blobs.
			target := hdr.Linkname
			if hdr.Typeflag == tar.TypeSymlink {
				target = path.Join(path.Dir(name), target)
			}
			links[name] = path.Clean("/" + target)[1:]
		}
	}
	for name, target := range links {
		for hops := 0; hops < 8; hops++ { // links to links, bounded
			if s, ok := ts.members[target]; ok {
				ts.members[name] = s
				break
			}
			next, ok := links[target]
			if !ok {
				break
			}
			target = next
		}
	}
	return ts, nil
}

func (t *tarStore) open(name string) (io.ReadCloser, int64, error) {
	s, ok := t.members[path.Clean("/" + name)[1:]]
	if !ok {
		return nil, 0, fmt.Errorf("%s: no member %s: %w", t.path, name, fs.ErrNotExist)
	}
	fi, err := t.f.Stat()
	if err != nil {
		return nil, 0, err
	}
	if s.off+s.size > fi.Size() {
		return nil, 0, fmt.Errorf("%s: member %s is truncated", t.path, name)
	}
	return io.NopCloser(io.NewSectionReader(t.f, s.off, s.size)), s.size, nil
}

func (t *tarStore) close() error { return t.f.Close() }

// verifyReader hashes a blob as it is read and fails at EOF if the digest differs.
type verifyReader struct {
	rc   io.ReadCloser
	h    hash.Hash
	want v1.Hash
	name string
}

func newVerifyReader(rc io.ReadCloser, want v1.Hash, name string) io.ReadCloser {
	if want.Algorithm != "sha256" {
		return rc
	}
	return &verifyReader{rc: rc, h: sha256.New(), want: want, name: name}
}

func (v *verifyReader) Read(p []byte) (int, error) {
	n, err := v.rc.Read(p)
	v.h.Write(p[:n])
	if errors.Is(err, io.EOF) {
		if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want.Hex {
			return n, fmt.Errorf("blob %s: digest mismatch: content hashes to sha256:%s", v.name, got)
		}
	}
	return n, err
}

func (v *verifyReader) Close() error { return v.rc.Close() }

// sniff reports the compression of a blob from its first bytes.
func sniff(s store, name string) (string, error) {
	rc, _, err := s.open(name)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	var b [4]byte
	n, _ := io.ReadFull(rc, b[:])
	switch {
	case n >= 2 && bytes.Equal(b[:2], []byte{0x1f, 0x8b}):
		return "gzip", nil
	case n >= 4 && bytes.Equal(b[:4], []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return "zstd", nil
	default:
		return "", nil
	}
}

// hashBlob computes a blob's sha256 (only used when a docker-archive stores a compressed
// layer under a name that does not carry its digest).
func hashBlob(s store, name string) (v1.Hash, error) {
	rc, _, err := s.open(name)
	if err != nil {
		return v1.Hash{}, err
	}
	defer rc.Close()
	h, _, err := v1.SHA256(rc)
	return h, err
}

func digestFromName(name string) (v1.Hash, bool) {
	dir, file := path.Split(path.Clean("/" + name))
	if !strings.HasSuffix(dir, "/blobs/sha256/") || len(file) != 64 {
		return v1.Hash{}, false
	}
	h, err := v1.NewHash("sha256:" + file)
	return h, err == nil
}
