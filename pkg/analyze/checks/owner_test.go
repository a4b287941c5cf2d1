package checks

import (
	"context"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgharden/imgharden/internal/imagetest"
	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
)

const debStatus = `Package: curl
Status: install ok installed
Version: 7.88.1-10+deb12u8

Package: dash
Essential: yes
Status: install ok installed
Version: 0.5.12-2

Package: netcat-openbsd
Status: install ok installed
Version: 1.219-1

Package: apt
Status: install ok installed
Version: 2.6.1

Package: gcc-12
Status: install ok installed
Version: 12.2.0-14

Package: golang-1.19-go
Status: install ok installed
Version: 1.19.8-2
`

// debian is a merged-/usr Debian root with dpkg's database: packages list their files under
// /bin and /usr/bin alike, alternatives and a file copied in by hand.
func debian() []imagetest.File {
	return []imagetest.File{
		symlink("/bin", "usr/bin"), dir("/usr/"), dir("/usr/bin/"), dir("/usr/local/bin/"),
		exe("/usr/bin/curl"), exe("/usr/bin/dash"), symlink("/usr/bin/sh", "dash"),
		exe("/usr/bin/nc.openbsd"), symlink("/etc/alternatives/nc", "/bin/nc.openbsd"), symlink("/usr/bin/nc", "/etc/alternatives/nc"),
		exe("/usr/bin/apt-get"), exe("/usr/bin/x86_64-linux-gnu-gcc-12"), symlink("/usr/bin/gcc", "x86_64-linux-gnu-gcc-12"),
		exe("/usr/local/bin/wget"),
		dir("/usr/lib/go-1.19/bin/"), exe("/usr/lib/go-1.19/bin/go"), dir("/usr/lib/go-1.19/pkg/tool/"),
		dir("/var/lib/dpkg/info/"),
		reg("/var/lib/dpkg/status", debStatus),
		reg("/var/lib/dpkg/info/curl.list", "/.\n/usr\n/usr/bin\n/usr/bin/curl\n"),
		reg("/var/lib/dpkg/info/dash.list", "/.\n/bin\n/bin/dash\n/bin/sh\n"),
		reg("/var/lib/dpkg/info/netcat-openbsd.list", "/bin/nc.openbsd\n"),
		reg("/var/lib/dpkg/info/apt.list", "/usr/bin/apt-get\n"),
		reg("/var/lib/dpkg/info/gcc-12.list", "/usr/bin/gcc-12\n/usr/bin/x86_64-linux-gnu-gcc-12\n"),
		reg("/var/lib/dpkg/info/golang-1.19-go:amd64.list", "/usr/lib/go-1.19/bin/go\n"),
	}
}

const apkDB = `P:busybox
V:1.36.1-r29
F:bin
R:busybox

P:curl
V:8.11.1-r0
F:usr/bin
R:curl
`

func TestPackageOwnerMessages(t *testing.T) {
	alpine := []imagetest.File{
		dir("/bin/"), exe("/bin/busybox"), symlink("/bin/sh", "/bin/busybox"), symlink("/usr/bin/wget", "/bin/busybox"),
		exe("/usr/bin/curl"), reg("/lib/apk/db/installed", apkDB), exe("/sbin/apk"),
	}
	fedora := []imagetest.File{
		exe("/usr/bin/bash"), exe("/usr/bin/dnf"), reg("/var/lib/rpm/rpmdb.sqlite", "SQLite format 3\x00"),
	}
	scratch := []imagetest.File{exe("/bin/busybox"), symlink("/bin/sh", "busybox")}
	type want struct {
		rule     *finding.Rule
		path     string
		message  string
		details  map[string]string // subset that must match; "" = must be absent
		evidence string
	}
	tests := []struct {
		name   string
		cfg    v1.Config
		layers []imagetest.Layer
		want   []want
	}{
		{"debian", v1.Config{}, []imagetest.Layer{{Files: debian()}}, []want{
			{rule: RuleNetworkTool, path: "/usr/bin/curl",
				message: "/usr/bin/curl is a network tool (curl), from package curl: apt-get purge -y curl",
				details: map[string]string{"package": "curl", "packageManager": "dpkg", "remove": "apt-get purge -y curl"}},
			{rule: RuleShell, path: "/usr/bin/sh",
				message: "/usr/bin/sh is a shell (sh): resolves to /usr/bin/dash, from package dash (essential): apt-get purge -y --allow-remove-essential dash",
				details: map[string]string{"package": "dash"}},
			{rule: RuleNetworkTool, path: "/usr/bin/nc",
				message: "/usr/bin/nc is a network tool (nc): resolves to /usr/bin/nc.openbsd, from package netcat-openbsd: apt-get purge -y netcat-openbsd",
				details: map[string]string{"package": "netcat-openbsd"}},
			{rule: RulePackageManager, path: "/usr/bin/apt-get",
				message: "/usr/bin/apt-get is a package manager (apt-get), from package apt: apt-get purge -y apt"},
			{rule: RuleCompiler, path: "/usr/bin/gcc",
				message: "/usr/bin/gcc is a compiler or build tool (gcc): resolves to /usr/bin/x86_64-linux-gnu-gcc-12, from package gcc-12: apt-get purge -y gcc-12"},
			{rule: RuleCompiler, path: "/usr/lib/go-1.19/bin/go",
				message: "Go toolchain at GOROOT /usr/lib/go-1.19 (its go binary is not in a bin directory on PATH), from package golang-1.19-go: apt-get purge -y golang-1.19-go",
				details: map[string]string{"package": "golang-1.19-go", "goroot": "/usr/lib/go-1.19"}},
			{rule: RuleNetworkTool, path: "/usr/local/bin/wget",
				message: "/usr/local/bin/wget is a network tool (wget), not from any dpkg package: it was copied or built into the image",
				details: map[string]string{"package": "", "packageManager": "dpkg", "remove": ""}},
		}},
		{"package purged in a later layer, binary copied back", v1.Config{}, []imagetest.Layer{
			{Files: debian()},
			{Files: []imagetest.File{reg("/var/lib/dpkg/status", strings.Replace(debStatus, "Package: curl\nStatus: install ok installed",
				"Package: curl\nStatus: deinstall ok config-files", 1))}},
		}, []want{
			{rule: RuleNetworkTool, path: "/usr/bin/curl",
				message: "/usr/bin/curl is a network tool (curl), not from any dpkg package: it was copied or built into the image"},
		}},
		{"list removed by a whiteout", v1.Config{}, []imagetest.Layer{
			{Files: debian()}, {Whiteouts: []string{"/var/lib/dpkg/info/curl.list"}},
		}, []want{
			{rule: RuleNetworkTool, path: "/usr/bin/curl",
				message: "/usr/bin/curl is a network tool (curl), not from any dpkg package: it was copied or built into the image"},
		}},
		{"alpine", v1.Config{}, []imagetest.Layer{{Files: alpine}}, []want{
			{rule: RuleShell, path: "/bin/sh",
				message: "/bin/sh is a shell (sh): a link to the multi-call binary /bin/busybox, which runs its sh applet, from package busybox: apk del busybox",
				details: map[string]string{"package": "busybox", "packageManager": "apk", "remove": "apk del busybox"}},
			{rule: RuleNetworkTool, path: "/usr/bin/curl", message: "/usr/bin/curl is a network tool (curl), from package curl: apk del curl"},
			{rule: RulePackageManager, path: "/sbin/apk",
				message: "/sbin/apk is a package manager (apk), not from any apk package: it was copied or built into the image"},
		}},
		{"rpm", v1.Config{}, []imagetest.Layer{{Files: fedora}}, []want{
			{rule: RuleShell, path: "/usr/bin/bash",
				message: `/usr/bin/bash is a shell (bash), from an rpm package (owner lookup unsupported): dnf remove -y "$(rpm -qf --qf '%{NAME}' /usr/bin/bash)"`,
				details: map[string]string{"package": "", "packageManager": "rpm"}},
		}},
		{"no package database", v1.Config{}, []imagetest.Layer{{Files: scratch}}, []want{
			{rule: RuleShell, path: "/bin/sh",
				message: "/bin/sh is a shell (sh): a link to the multi-call binary /bin/busybox, which runs its sh applet",
				details: map[string]string{"package": "", "packageManager": "", "remove": ""}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := imagetest.Image(t, tt.cfg, tt.layers...)
			got := scan(t, img, shell{}, networkTool{}, packageManager{}, compiler{})
			for _, w := range tt.want {
				f := find(t, ofRule(got, w.rule), w.path)
				if f.Message != w.message {
					t.Errorf("%s %s:\n got %q\nwant %q", w.rule.ID, w.path, f.Message, w.message)
				}
				for k, v := range w.details {
					if got, ok := f.Details[k]; got != v || (v == "" && ok) {
						t.Errorf("%s %s: details[%q] = %q, want %q (all: %v)", w.rule.ID, w.path, k, got, v, f.Details)
					}
				}
			}
		})
	}
}

// A package database too large for the engine's file cap is not kept: owners are unknown,
// and findings say so instead of claiming the file is not from a package.
func TestPackageDatabaseTooLarge(t *testing.T) {
	files := debian()
	for i, f := range files {
		if f.Path == "/var/lib/dpkg/info/curl.list" {
			files[i].Content += strings.Repeat("/usr/share/doc/curl/padding\n", 100)
		}
	}
	img := imagetest.Image(t, v1.Config{}, imagetest.Layer{Files: files})
	res, err := analyze.New(analyze.WithChecks(networkTool{}), analyze.WithMaxFileSize(1024)).Run(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	f := find(t, ofRule(res.Findings, RuleNetworkTool), "/usr/bin/curl")
	want := "/usr/bin/curl is a network tool (curl), package owner unknown (dpkg database incomplete: " +
		"/var/lib/dpkg/info/curl.list: file content was not retained during the pass)"
	if f.Message != want {
		t.Errorf("got  %q\nwant %q", f.Message, want)
	}
	if _, ok := f.Details["package"]; ok {
		t.Errorf("details name a package: %v", f.Details)
	}
}

// The package databases are kept only when an owner-aware check runs.
func TestPackageDatabasesRetainedOnlyForOwnerChecks(t *testing.T) {
	img := image(t, v1.Config{}, debian()...)
	for _, tt := range []struct {
		name  string
		check analyze.Check
		want  bool
	}{{"shell", shell{}, true}, {"setuid", newSetuid(options{}), false}} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := analyze.New(analyze.WithChecks(tt.check)).Run(context.Background(), img)
			if err != nil {
				t.Fatal(err)
			}
			_, err = res.View.ReadFile("/var/lib/dpkg/info/curl.list")
			if got := err == nil; got != tt.want {
				t.Errorf("curl.list retained = %v (%v), want %v", got, err, tt.want)
			}
		})
	}
}
