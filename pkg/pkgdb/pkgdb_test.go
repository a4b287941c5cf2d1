package pkgdb

import (
	"errors"
	"io/fs"
	"path"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// mapFS is a root filesystem held in maps: files with content, symlinked directories, and
// files present but unreadable (as a database the engine did not keep).
type mapFS struct {
	files      map[string]string
	dirLinks   map[string]string // "/bin" → "/usr/bin"
	unreadable map[string]bool
}

func (m mapFS) ReadFile(p string) ([]byte, error) {
	p = m.Canonical(p)
	if m.unreadable[p] {
		return nil, errors.New("not retained")
	}
	s, ok := m.files[p]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return []byte(s), nil
}

func (m mapFS) Exists(p string) bool {
	_, ok := m.files[m.Canonical(p)]
	return ok
}

func (m mapFS) List(dir string) []string {
	dir = m.Canonical(dir)
	var out []string
	for p := range m.files {
		if path.Dir(p) == dir {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func (m mapFS) Canonical(p string) string {
	p = path.Clean(p)
	for from, to := range m.dirLinks {
		if rest, ok := strings.CutPrefix(p, from); ok && (rest == "" || rest[0] == '/') {
			return to + rest
		}
	}
	return p
}

func TestNeedsContent(t *testing.T) {
	tests := []struct {
		path string
		want bool
	}{
		{"/var/lib/dpkg/status", true},
		{"/var/lib/dpkg/info/curl.list", true},
		{"/var/lib/dpkg/info/libc6:amd64.list", true},
		{"/lib/apk/db/installed", true},
		{"/usr/lib/apk/db/installed", true},
		{"/var/lib/dpkg/status-old", false},
		{"/var/lib/dpkg/info/curl.md5sums", false},
		{"/var/lib/dpkg/info/sub/x.list", false},
		{"/var/lib/dpkg/available", false},
		{"/var/lib/rpm/rpmdb.sqlite", false},
		{"/etc/passwd", false},
		{"/lib/apk/db/triggers", false},
	}
	for _, tt := range tests {
		if got := NeedsContent(tt.path); got != tt.want {
			t.Errorf("NeedsContent(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

const status = `Package: curl
Status: install ok installed
Priority: optional
Architecture: amd64
Version: 7.88.1-10+deb12u8
Description: command line tool for transferring data with URL syntax
 curl is a command line tool for transferring data with URL syntax, supporting
 DICT, FILE, FTP, FTPS, GOPHER, HTTP, HTTPS, IMAP,
Homepage: https://curl.se/

Package: dash
Essential: yes
Status: install ok installed
Version: 0.5.12-2
Description: POSIX-compliant shell
 Essential: no (a continuation line that looks like a field)

Package: init-system-helpers
Protected: yes
Status: install ok installed
Version: 1.65.2

Package: wget
Status: deinstall ok config-files
Version: 1.21.3-1+b2

Package: libc6
Status: install ok installed
Multi-Arch: same
Architecture: amd64
Version: 2.36-9+deb12u9
`

func TestParseDpkgStatus(t *testing.T) {
	got := ParseDpkgStatus([]byte(status))
	want := map[string]Package{
		"curl":                {Manager: Dpkg, Name: "curl", Version: "7.88.1-10+deb12u8"},
		"dash":                {Manager: Dpkg, Name: "dash", Version: "0.5.12-2", Essential: true},
		"init-system-helpers": {Manager: Dpkg, Name: "init-system-helpers", Version: "1.65.2", Protected: true},
		"libc6":               {Manager: Dpkg, Name: "libc6", Version: "2.36-9+deb12u9"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ParseDpkgStatus (-want +got):\n%s", d)
	}
	if got := ParseDpkgStatus([]byte("\n\n\r\nnot a stanza\n\n")); len(got) != 0 {
		t.Errorf("garbage gave %v", got)
	}
}

func TestParseDpkgList(t *testing.T) {
	got := ParseDpkgList([]byte("/.\n/usr\n/usr/bin\n/usr/bin/curl\r\n\nrelative/ignored\n/usr/share/doc/curl"))
	want := []string{"/usr", "/usr/bin", "/usr/bin/curl", "/usr/share/doc/curl"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ParseDpkgList (-want +got):\n%s", d)
	}
}

const apkInstalled = `C:Q1abc=
P:busybox
V:1.36.1-r29
A:x86_64
F:bin
R:busybox
a:0:0:755
Z:Q1xyz=
F:etc
R:securetty

P:curl
V:8.11.1-r0
F:usr
F:usr/bin
R:curl
`

func TestParseApkInstalled(t *testing.T) {
	got := ParseApkInstalled([]byte(apkInstalled))
	want := []ApkEntry{
		{Package{Manager: Apk, Name: "busybox", Version: "1.36.1-r29"}, []string{"/bin/busybox", "/etc/securetty"}},
		{Package{Manager: Apk, Name: "curl", Version: "8.11.1-r0"}, []string{"/usr/bin/curl"}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ParseApkInstalled (-want +got):\n%s", d)
	}
}

func debianFS() mapFS {
	return mapFS{
		dirLinks: map[string]string{"/bin": "/usr/bin", "/sbin": "/usr/sbin"},
		files: map[string]string{
			DpkgStatus:                                    status,
			"/var/lib/dpkg/info/curl.list":                "/.\n/usr\n/usr/bin\n/usr/bin/curl\n",
			"/var/lib/dpkg/info/dash.list":                "/.\n/bin\n/bin/dash\n/bin/sh\n",
			"/var/lib/dpkg/info/wget.list":                "/usr/bin/wget\n",                // config-files only: not installed
			"/var/lib/dpkg/info/libc6:amd64.list":         "/usr/bin/ldd\n/usr/bin/iconv\n", // multi-arch name
			"/var/lib/dpkg/info/init-system-helpers.list": "/usr/bin/deb-systemd-helper\n",
			"/usr/bin/curl":                               "", "/usr/bin/dash": "", "/usr/bin/sh": "", "/usr/bin/wget": "",
			"/usr/bin/ldd": "", "/usr/bin/apt-get": "", "/usr/local/bin/go": "",
		},
	}
}

func TestLookup(t *testing.T) {
	deb := debianFS()
	noApt := debianFS()
	delete(noApt.files, "/usr/bin/apt-get")
	incomplete := debianFS()
	incomplete.unreadable = map[string]bool{"/var/lib/dpkg/info/dash.list": true}
	noStatus := debianFS()
	delete(noStatus.files, DpkgStatus)
	alpine := mapFS{files: map[string]string{ApkDB: apkInstalled, "/bin/busybox": "", "/usr/bin/curl": ""}}
	rpm := mapFS{files: map[string]string{"/var/lib/rpm/rpmdb.sqlite": "SQLite format 3", "/usr/bin/dnf": ""}}
	none := mapFS{files: map[string]string{"/bin/busybox": ""}}

	tests := []struct {
		name     string
		fs       mapFS
		paths    []string
		packages string
		manager  Manager
		describe string
	}{
		{"dpkg file", deb, []string{"/usr/bin/curl"}, "curl", Dpkg, "from package curl: apt-get purge -y curl"},
		{"listed under /bin, found in /usr/bin", deb, []string{"/usr/bin/sh"}, "dash", Dpkg,
			"from package dash (essential): apt-get purge -y --allow-remove-essential dash"},
		{"link unowned, target owned", deb, []string{"/usr/bin/nc", "/usr/bin/dash"}, "dash", Dpkg,
			"from package dash (essential): apt-get purge -y --allow-remove-essential dash"},
		{"multi-arch list file", deb, []string{"/usr/bin/ldd"}, "libc6", Dpkg, "from package libc6: apt-get purge -y libc6"},
		{"protected package", deb, []string{"/usr/bin/deb-systemd-helper"}, "init-system-helpers", Dpkg,
			"from package init-system-helpers (protected): apt-get purge -y --allow-remove-essential init-system-helpers"},
		{"removed package keeps its list", deb, []string{"/usr/bin/wget"}, "", Dpkg,
			"not from any dpkg package: it was copied or built into the image"},
		{"copied in", deb, []string{"/usr/local/bin/go"}, "", Dpkg,
			"not from any dpkg package: it was copied or built into the image"},
		{"no apt-get: dpkg", noApt, []string{"/usr/bin/curl"}, "curl", Dpkg, "from package curl: dpkg --purge curl"},
		{"no apt-get, essential", noApt, []string{"/usr/bin/dash"}, "dash", Dpkg,
			"from package dash (essential): dpkg --purge --force-remove-essential dash"},
		{"no apt-get, protected", noApt, []string{"/usr/bin/deb-systemd-helper"}, "init-system-helpers", Dpkg,
			"from package init-system-helpers (protected): dpkg --purge --force-remove-protected init-system-helpers"},
		{"unreadable list: unknown, not unowned", incomplete, []string{"/usr/bin/sh"}, "", Dpkg,
			"package owner unknown (dpkg database incomplete: /var/lib/dpkg/info/dash.list: not retained)"},
		{"no status: lists alone", noStatus, []string{"/usr/bin/wget"}, "wget", Dpkg, "from package wget: apt-get purge -y wget"},
		{"apk", alpine, []string{"/bin/sh", "/bin/busybox"}, "busybox", Apk, "from package busybox: apk del busybox"},
		{"apk unowned", alpine, []string{"/usr/local/bin/nc"}, "", Apk, "not from any apk package: it was copied or built into the image"},
		{"rpm", rpm, []string{"/usr/bin/curl"}, "", Rpm,
			`from an rpm package (owner lookup unsupported): dnf remove -y "$(rpm -qf --qf '%{NAME}' /usr/bin/curl)"`},
		{"no database", none, []string{"/bin/busybox"}, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := Load(tt.fs)
			o := db.Lookup(tt.paths...)
			if o.Names() != tt.packages || o.Manager != tt.manager {
				t.Errorf("Lookup(%q) = %q (%s), want %q (%s)", tt.paths, o.Names(), o.Manager, tt.packages, tt.manager)
			}
			if got := db.Describe(o); got != tt.describe {
				t.Errorf("Describe:\n got %q\nwant %q", got, tt.describe)
			}
		})
	}
}

func TestSharedPathHasSeveralOwners(t *testing.T) {
	fsys := mapFS{files: map[string]string{
		"/var/lib/dpkg/info/b.list": "/usr/bin/tool\n",
		"/var/lib/dpkg/info/a.list": "/usr/bin/tool\n",
		"/usr/bin/tool":             "",
	}}
	db := Load(fsys)
	o := db.Lookup("/usr/bin/tool")
	if got, want := db.Describe(o), "from packages a, b: dpkg --purge a b"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func FuzzParsers(f *testing.F) {
	f.Add([]byte(status))
	f.Add([]byte(apkInstalled))
	f.Add([]byte("/usr/bin/x\n\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseDpkgStatus(b)
		ParseApkInstalled(b)
		for _, p := range ParseDpkgList(b) {
			if !strings.HasPrefix(p, "/") {
				t.Fatalf("list path %q is not absolute", p)
			}
		}
	})
}
