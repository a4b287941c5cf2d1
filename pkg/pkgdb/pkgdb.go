// Package pkgdb reads the package databases in an image's root filesystem to say which
// package owns a file and which command removes it. It reads the files the image holds
// (dpkg's info/*.list and status, apk's installed database); it runs no package manager and
// it does not use syft, so the scan never compiles it. Standard library only.
//
// dpkg and apk are read. An rpm database (sqlite, Berkeley DB or NDB) is detected but not
// read: owners in rpm-based images are reported as unknown, with the rpm -qf command that
// names them.
package pkgdb

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
)

// Manager is a package manager whose database an image can hold.
type Manager string

// The package managers pkgdb knows.
const (
	Dpkg Manager = "dpkg"
	Apk  Manager = "apk"
	Rpm  Manager = "rpm"
)

// Database paths in the image.
const (
	DpkgStatus  = "/var/lib/dpkg/status"
	DpkgInfoDir = "/var/lib/dpkg/info"
	ApkDB       = "/lib/apk/db/installed"
)

// rpmDBs are the files an rpm database lives in (sqlite since rpm 4.16, Berkeley DB before,
// NDB on SUSE), in /var/lib/rpm or /usr/lib/sysimage/rpm.
var rpmDBs = []string{
	"/var/lib/rpm/rpmdb.sqlite", "/var/lib/rpm/Packages", "/var/lib/rpm/Packages.db",
	"/usr/lib/sysimage/rpm/rpmdb.sqlite", "/usr/lib/sysimage/rpm/Packages", "/usr/lib/sysimage/rpm/Packages.db",
}

// NeedsContent reports whether a file at p, as a layer names it, is a database Load reads.
// It looks at the name only, so the analysis engine can decide to keep the body during its
// pass. /usr/lib/apk/db/installed is included for images whose /lib links to usr/lib.
func NeedsContent(p string) bool {
	if rest, ok := strings.CutPrefix(p, "/var/lib/dpkg/"); ok {
		if rest == "status" {
			return true
		}
		name, ok := strings.CutPrefix(rest, "info/")
		return ok && strings.HasSuffix(name, ".list") && !strings.Contains(name, "/")
	}
	return p == ApkDB || p == "/usr"+ApkDB
}

// FS is the read-only view of a final root filesystem that Load needs.
type FS interface {
	// ReadFile returns the content of p, following symlinks inside the image.
	ReadFile(p string) ([]byte, error)
	// Exists reports whether p exists.
	Exists(p string) bool
	// List returns the paths of the regular files directly in dir.
	List(dir string) []string
	// Canonical returns p with symlinks in its directory part resolved inside the image
	// (/bin/sh → /usr/bin/sh when /bin links to usr/bin). Paths that do not resolve come back
	// clean but otherwise unchanged.
	Canonical(p string) string
}

// Package is an installed package.
type Package struct {
	Manager   Manager
	Name      string
	Version   string
	Essential bool // dpkg "Essential: yes": apt and dpkg refuse to remove it without a force option
	Protected bool // dpkg "Protected: yes": the same, with its own dpkg force option
}

// DB is the file-ownership index of one root filesystem.
type DB struct {
	managers   []Manager
	owners     map[string][]int // canonical path → indexes into pkgs
	pkgs       []Package
	incomplete map[Manager][]string // database files that could not be read
	hasAptGet  bool
	rpmTool    string
}

// ErrUnsupported marks an owner lookup in a database pkgdb cannot read (rpm).
var ErrUnsupported = errors.New("owner lookup unsupported")

// Load reads the package databases of fsys. Files that cannot be read (too large to have
// been kept, unreadable) make the index incomplete rather than failing: Lookup then says the
// owner is unknown instead of claiming that no package owns a file.
func Load(fsys FS) *DB {
	db := &DB{owners: map[string][]int{}, incomplete: map[Manager][]string{}}
	db.hasAptGet = fsys.Exists("/usr/bin/apt-get") || fsys.Exists("/bin/apt-get")
	db.loadDpkg(fsys)
	db.loadApk(fsys)
	for _, p := range rpmDBs {
		if fsys.Exists(p) {
			db.managers = append(db.managers, Rpm)
			break
		}
	}
	for _, t := range []string{"dnf", "microdnf", "yum", "zypper"} {
		if fsys.Exists("/usr/bin/" + t) {
			db.rpmTool = t
			break
		}
	}
	return db
}

// Managers lists the package managers whose database the image holds.
func (db *DB) Managers() []Manager { return db.managers }

func (db *DB) has(m Manager) bool { return slices.Contains(db.managers, m) }

func (db *DB) add(p Package, paths []string, canon func(string) string) {
	i := len(db.pkgs)
	db.pkgs = append(db.pkgs, p)
	for _, f := range paths {
		c := canon(f)
		if ix := db.owners[c]; len(ix) == 0 || ix[len(ix)-1] != i {
			db.owners[c] = append(ix, i)
		}
	}
}

// canonicalizer resolves the directory of each path once per directory.
func canonicalizer(fsys FS) func(string) string {
	dirs := map[string]string{}
	return func(p string) string {
		p = path.Clean("/" + p)
		dir, base := path.Split(p)
		if base == "" {
			return p
		}
		cd, ok := dirs[dir]
		if !ok {
			cd = fsys.Canonical(path.Clean(dir))
			dirs[dir] = cd
		}
		return path.Join(cd, base)
	}
}

// unreadable records a database file that could not be read.
func (db *DB) unreadable(m Manager, p string, err error) {
	msg := err.Error()
	if !strings.Contains(msg, p) {
		msg = p + ": " + msg
	}
	db.incomplete[m] = append(db.incomplete[m], msg)
}

func (db *DB) loadDpkg(fsys FS) {
	lists := fsys.List(DpkgInfoDir)
	statusPresent := fsys.Exists(DpkgStatus)
	if len(lists) == 0 && !statusPresent {
		return
	}
	db.managers = append(db.managers, Dpkg)
	var status map[string]Package
	if statusPresent {
		b, err := fsys.ReadFile(DpkgStatus)
		if err != nil {
			db.unreadable(Dpkg, DpkgStatus, err)
		} else {
			status = ParseDpkgStatus(b)
		}
	}
	canon := canonicalizer(fsys)
	for _, lp := range lists {
		name, ok := strings.CutSuffix(path.Base(lp), ".list")
		if !ok {
			continue
		}
		name, _, _ = strings.Cut(name, ":") // libc6:amd64.list
		p := Package{Manager: Dpkg, Name: name}
		if status != nil {
			st, ok := status[name]
			if !ok {
				continue // removed, or only config files left: its list names nothing installed
			}
			p = st
		}
		b, err := fsys.ReadFile(lp)
		if err != nil {
			db.unreadable(Dpkg, lp, err)
			continue
		}
		db.add(p, ParseDpkgList(b), canon)
	}
}

func (db *DB) loadApk(fsys FS) {
	if !fsys.Exists(ApkDB) {
		return
	}
	db.managers = append(db.managers, Apk)
	b, err := fsys.ReadFile(ApkDB)
	if err != nil {
		db.unreadable(Apk, ApkDB, err)
		return
	}
	canon := canonicalizer(fsys)
	for _, e := range ParseApkInstalled(b) {
		db.add(e.Package, e.Files, canon)
	}
}

// Owner says where a file comes from.
type Owner struct {
	Path     string    // the path that was looked up and found (or the first one asked)
	Packages []Package // owning packages, sorted by name; empty when unknown or unowned
	Manager  Manager   // the database consulted; "" when the image holds none
	Err      error     // ErrUnsupported, or why the index is incomplete; nil when the answer is sure
}

// Lookup returns the owner of the first of paths that a package owns. Pass the path of the
// file as found and then the path it resolves to: update-alternatives and applet links are
// not in any package, their targets are. Paths must be canonical (see FS.Canonical).
func (db *DB) Lookup(paths ...string) Owner {
	for _, p := range paths {
		if ix := db.owners[p]; len(ix) > 0 {
			o := Owner{Path: p}
			for _, i := range ix {
				o.Packages = append(o.Packages, db.pkgs[i])
			}
			sort.Slice(o.Packages, func(i, j int) bool { return o.Packages[i].Name < o.Packages[j].Name })
			o.Manager = o.Packages[0].Manager
			return o
		}
	}
	o := Owner{}
	if len(paths) > 0 {
		o.Path = paths[0]
	}
	switch {
	case db.has(Dpkg):
		o.Manager = Dpkg
	case db.has(Apk):
		o.Manager = Apk
	case db.has(Rpm):
		o.Manager = Rpm
		o.Err = ErrUnsupported
		return o
	default:
		return o
	}
	if bad := db.incomplete[o.Manager]; len(bad) > 0 {
		o.Err = fmt.Errorf("%s database incomplete: %s", o.Manager, bad[0])
	}
	return o
}

// Names lists the owning package names, comma-separated.
func (o Owner) Names() string {
	var n []string
	for _, p := range o.Packages {
		n = append(n, p.Name)
	}
	return strings.Join(n, ", ")
}

// RemoveCommand is the command that removes the owning packages in a Dockerfile RUN line,
// or "" when there is none.
func (db *DB) RemoveCommand(o Owner) string {
	switch {
	case len(o.Packages) == 0 && o.Manager == Rpm:
		tool := db.rpmTool
		if tool == "" {
			tool = "rpm -e"
		} else {
			tool += " remove -y"
		}
		return fmt.Sprintf("%s \"$(rpm -qf --qf '%%{NAME}' %s)\"", tool, o.Path)
	case len(o.Packages) == 0:
		return ""
	}
	var names []string
	for _, p := range o.Packages {
		names = append(names, p.Name)
	}
	essential := slices.ContainsFunc(o.Packages, func(p Package) bool { return p.Essential })
	protected := slices.ContainsFunc(o.Packages, func(p Package) bool { return p.Protected })
	switch o.Manager {
	case Dpkg:
		cmd := "dpkg --purge "
		switch {
		case db.hasAptGet && (essential || protected): // apt treats protected packages as essential
			cmd = "apt-get purge -y --allow-remove-essential "
		case db.hasAptGet:
			cmd = "apt-get purge -y "
		default:
			if essential {
				cmd += "--force-remove-essential "
			}
			if protected {
				cmd += "--force-remove-protected "
			}
		}
		return cmd + strings.Join(names, " ")
	case Apk:
		return "apk del " + strings.Join(names, " ")
	}
	return ""
}

// Describe is the clause findings append: "from package curl: apt-get purge -y curl",
// "not from any dpkg package", "from an rpm package (owner lookup unsupported): ...".
// It is "" when the image holds no package database.
func (db *DB) Describe(o Owner) string {
	switch {
	case len(o.Packages) > 0:
		word := "package"
		if len(o.Packages) > 1 {
			word = "packages"
		}
		s := fmt.Sprintf("from %s %s", word, o.Names())
		switch {
		case slices.ContainsFunc(o.Packages, func(p Package) bool { return p.Essential }):
			s += " (essential)"
		case slices.ContainsFunc(o.Packages, func(p Package) bool { return p.Protected }):
			s += " (protected)"
		}
		if cmd := db.RemoveCommand(o); cmd != "" {
			s += ": " + cmd
		}
		return s
	case o.Manager == Rpm:
		return "from an rpm package (owner lookup unsupported): " + db.RemoveCommand(o)
	case o.Manager == "":
		return ""
	case o.Err != nil:
		return fmt.Sprintf("package owner unknown (%v)", o.Err)
	default:
		return fmt.Sprintf("not from any %s package: it was copied or built into the image", o.Manager)
	}
}

// ParseDpkgList reads a dpkg info/<package>.list file: one absolute path per line.
func ParseDpkgList(b []byte) []string {
	var out []string
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 || line[0] != '/' {
			continue
		}
		if len(line) == 2 && line[1] == '.' { // "/." is the root itself
			continue
		}
		out = append(out, string(line))
	}
	return out
}

// ParseDpkgStatus reads dpkg's status file and returns the installed packages by name
// (Status "install ok installed", or any status whose last word is "installed").
func ParseDpkgStatus(b []byte) map[string]Package {
	out := map[string]Package{}
	for _, st := range stanzas(b) {
		fields := dpkgFields(st)
		name := fields["Package"]
		status := strings.Fields(fields["Status"])
		if name == "" || len(status) == 0 || status[len(status)-1] != "installed" {
			continue
		}
		out[name] = Package{
			Manager: Dpkg, Name: name, Version: fields["Version"],
			Essential: fields["Essential"] == "yes", Protected: fields["Protected"] == "yes",
		}
	}
	return out
}

// stanzas splits an RFC 822-style file at blank lines. The stanzas share b's memory.
func stanzas(b []byte) [][]byte {
	var out [][]byte
	start, pos := -1, 0
	for pos < len(b) {
		end := bytes.IndexByte(b[pos:], '\n')
		if end < 0 {
			end = len(b)
		} else {
			end += pos
		}
		blank := len(bytes.TrimSpace(b[pos:end])) == 0
		switch {
		case blank && start >= 0:
			out = append(out, b[start:pos])
			start = -1
		case !blank && start < 0:
			start = pos
		}
		pos = end + 1
	}
	if start >= 0 {
		out = append(out, b[start:])
	}
	return out
}

// dpkgFields reads the single-line fields of a stanza; continuation lines are skipped.
func dpkgFields(st []byte) map[string]string {
	f := map[string]string{}
	for _, line := range bytes.Split(st, []byte("\n")) {
		if len(line) == 0 || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		f[string(k)] = string(bytes.TrimSpace(v))
	}
	return f
}

// ApkEntry is one package of apk's installed database and the files it owns.
type ApkEntry struct {
	Package
	Files []string // absolute paths
}

// ParseApkInstalled reads apk's installed database: stanzas of one-letter fields, P name,
// V version, F a directory (relative to the root) and R a file in the last F.
func ParseApkInstalled(b []byte) []ApkEntry {
	var out []ApkEntry
	for _, st := range stanzas(b) {
		e := ApkEntry{Package: Package{Manager: Apk}}
		dir := ""
		for _, line := range bytes.Split(st, []byte("\n")) {
			if len(line) < 2 || line[1] != ':' {
				continue
			}
			v := string(line[2:])
			switch line[0] {
			case 'P':
				e.Name = v
			case 'V':
				e.Version = v
			case 'F':
				dir = v
			case 'R':
				e.Files = append(e.Files, path.Join("/", dir, v))
			}
		}
		if e.Name != "" {
			out = append(out, e)
		}
	}
	return out
}
