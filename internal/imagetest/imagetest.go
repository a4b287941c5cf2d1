// Package imagetest builds container images in memory for tests: files with modes, owners,
// links and xattrs, whiteouts and opaque directories, and history lines. Every timestamp is
// fixed, so digests (and golden files) are stable.
package imagetest

import (
	"archive/tar"
	"bytes"
	"io"
	"io/fs"
	"path"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Epoch is the fixed time stamped on every entry and history line.
var Epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// File is one entry of a layer. Mode uses Go's fs.FileMode: fs.ModeSetuid, fs.ModeDir,
// fs.ModeSymlink... A zero Mode means a regular file 0644 (or a directory 0755 when the path
// ends in "/").
type File struct {
	Path     string // "/usr/bin/su", "etc/"; leading slash optional
	Mode     fs.FileMode
	UID, GID int
	Content  string
	Link     string // symlink target (with fs.ModeSymlink) or hardlink target (with Hardlink)
	Hardlink bool
	Xattrs   map[string]string // written as SCHILY.xattr.* PAX records
	RawName  string            // write this tar name verbatim instead of Path (hostile names)
}

// Layer is one layer: files, whiteouts, opaque directories and the instruction that made it.
type Layer struct {
	CreatedBy string
	Files     []File
	Whiteouts []string // paths removed from lower layers (".wh.NAME" entries)
	Opaque    []string // directories whose lower content is hidden (".wh..wh..opq")
}

// Dir, Reg, Exe, Symlink and Hardlink are shorthands for common entries.
func Dir(p string) File              { return File{Path: p, Mode: fs.ModeDir | 0o755} }
func Reg(p, content string) File     { return File{Path: p, Mode: 0o644, Content: content} }
func Exe(p string) File              { return File{Path: p, Mode: 0o755, Content: "\x7fELF" + p} }
func Symlink(p, target string) File  { return File{Path: p, Mode: fs.ModeSymlink | 0o777, Link: target} }
func Hardlink(p, target string) File { return File{Path: p, Mode: 0o755, Link: target, Hardlink: true} }

// LayerTar returns the uncompressed tar bytes of a layer.
func LayerTar(t testing.TB, l Layer) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range l.Opaque {
		writeHeader(t, tw, &tar.Header{Name: path.Join(strings.TrimPrefix(d, "/"), ".wh..wh..opq"), Typeflag: tar.TypeReg, Mode: 0o644, ModTime: Epoch, Format: tar.FormatPAX}, "")
	}
	for _, w := range l.Whiteouts {
		dir, base := path.Split(strings.TrimPrefix(w, "/"))
		writeHeader(t, tw, &tar.Header{Name: dir + ".wh." + base, Typeflag: tar.TypeReg, Mode: 0o644, ModTime: Epoch, Format: tar.FormatPAX}, "")
	}
	for _, f := range l.Files {
		writeHeader(t, tw, header(f), f.Content)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func header(f File) *tar.Header {
	name := strings.TrimPrefix(f.Path, "/")
	mode := f.Mode
	if mode == 0 {
		mode = 0o644
		if strings.HasSuffix(name, "/") {
			mode = fs.ModeDir | 0o755
		}
	}
	h := &tar.Header{Name: name, Uid: f.UID, Gid: f.GID, ModTime: Epoch, Format: tar.FormatPAX}
	h.Mode = int64(mode.Perm())
	if mode&fs.ModeSetuid != 0 {
		h.Mode |= 0o4000
	}
	if mode&fs.ModeSetgid != 0 {
		h.Mode |= 0o2000
	}
	if mode&fs.ModeSticky != 0 {
		h.Mode |= 0o1000
	}
	switch {
	case f.Hardlink:
		h.Typeflag, h.Linkname = tar.TypeLink, strings.TrimPrefix(f.Link, "/")
	case mode&fs.ModeSymlink != 0:
		h.Typeflag, h.Linkname = tar.TypeSymlink, f.Link
	case mode.IsDir():
		h.Typeflag = tar.TypeDir
		if !strings.HasSuffix(h.Name, "/") {
			h.Name += "/"
		}
	default:
		h.Typeflag, h.Size = tar.TypeReg, int64(len(f.Content))
	}
	if f.RawName != "" {
		h.Name = f.RawName
	}
	for k, v := range f.Xattrs {
		if h.PAXRecords == nil {
			h.PAXRecords = map[string]string{}
		}
		h.PAXRecords["SCHILY.xattr."+k] = v
	}
	return h
}

func writeHeader(t testing.TB, tw *tar.Writer, h *tar.Header, content string) {
	t.Helper()
	if err := tw.WriteHeader(h); err != nil {
		t.Fatalf("imagetest: header %s: %v", h.Name, err)
	}
	if h.Typeflag == tar.TypeReg && content != "" {
		if _, err := io.WriteString(tw, content); err != nil {
			t.Fatal(err)
		}
	}
}

// Image builds an image from cfg and layers. Each layer gets a history entry with its
// CreatedBy; use cfg.History to add empty_layer entries: they are kept, in order, before
// the layer history.
func Image(t testing.TB, cfg v1.Config, layers ...Layer) v1.Image {
	t.Helper()
	img := empty.Image
	var err error
	for _, l := range layers {
		data := LayerTar(t, l)
		layer, lerr := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		})
		if lerr != nil {
			t.Fatal(lerr)
		}
		img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{
			CreatedBy: l.CreatedBy, Created: v1.Time{Time: Epoch},
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config = cfg
	cf.Architecture, cf.OS = "amd64", "linux"
	cf.Created = v1.Time{Time: Epoch}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

// WithHistory replaces the image's history (nil strips it, as some build pipelines do).
func WithHistory(t testing.TB, img v1.Image, h []v1.History) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.History = h
	out, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
