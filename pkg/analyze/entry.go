package analyze

import (
	"archive/tar"
	"io/fs"
	"path"
	"strings"
)

// Entry is the metadata of one tar entry of one layer. The engine keeps only metadata (and
// the bodies that a Retainer asked for) for every path of the image.
type Entry struct {
	Path     string      // absolute and clean: "/usr/bin/su"
	Mode     fs.FileMode // Go mode bits: type, permissions, setuid, setgid, sticky
	UID, GID int
	Uname    string
	Size     int64
	Linkname string            // symlink target as written, or the absolute path a hardlink points to
	Hardlink bool              // a tar hardlink: its content is Linkname's
	Xattrs   map[string]string // extended attributes from PAX records (SCHILY.xattr.*), nil when none
	Layer    int               // index of the layer that holds this entry

	retained []byte // body kept for View.ReadFile when a Retainer asked for it
	kept     bool
}

// IsRegular reports whether the entry is a regular file (hardlinks included).
func (e *Entry) IsRegular() bool { return e.Mode.IsRegular() }

// IsDir reports whether the entry is a directory.
func (e *Entry) IsDir() bool { return e.Mode.IsDir() }

// IsSymlink reports whether the entry is a symbolic link.
func (e *Entry) IsSymlink() bool { return e.Mode&fs.ModeSymlink != 0 }

// Base is the last element of the path.
func (e *Entry) Base() string { return path.Base(e.Path) }

// UnixMode is the mode as chmod(1) spells it: permission bits plus 04000 setuid, 02000
// setgid and 01000 sticky.
func (e *Entry) UnixMode() uint32 {
	m := uint32(e.Mode.Perm())
	if e.Mode&fs.ModeSetuid != 0 {
		m |= 0o4000
	}
	if e.Mode&fs.ModeSetgid != 0 {
		m |= 0o2000
	}
	if e.Mode&fs.ModeSticky != 0 {
		m |= 0o1000
	}
	return m
}

// Capability returns the raw security.capability extended attribute, if any.
func (e *Entry) Capability() (string, bool) {
	v, ok := e.Xattrs["security.capability"]
	return v, ok
}

const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
	whiteoutMeta   = ".wh..wh."
)

// cleanName turns a tar entry name into an absolute clean path inside the image root. unsafe
// is true when the name tried to leave the root ("../") or was absolute, which no sane builder
// writes.
func cleanName(name string) (p string, unsafe bool) {
	unsafe = strings.HasPrefix(name, "/")
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			unsafe = true
			break
		}
	}
	return path.Join("/", name), unsafe
}

// newEntry converts a tar header. p is the cleaned path.
func newEntry(hdr *tar.Header, p string, layer int) *Entry {
	e := &Entry{
		Path:  p,
		Mode:  hdr.FileInfo().Mode(),
		UID:   hdr.Uid,
		GID:   hdr.Gid,
		Uname: hdr.Uname,
		Size:  hdr.Size,
		Layer: layer,
	}
	switch hdr.Typeflag {
	case tar.TypeSymlink:
		e.Linkname = hdr.Linkname
	case tar.TypeLink:
		e.Linkname, _ = cleanName(hdr.Linkname)
		e.Hardlink = true
		e.Size = 0
	}
	for k, v := range hdr.PAXRecords {
		if name, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
			if e.Xattrs == nil {
				e.Xattrs = map[string]string{}
			}
			e.Xattrs[name] = v
		}
	}
	//nolint:staticcheck // Xattrs is deprecated in archive/tar but still filled for old archives.
	for k, v := range hdr.Xattrs {
		if e.Xattrs == nil {
			e.Xattrs = map[string]string{}
		}
		e.Xattrs[k] = v
	}
	return e
}
