package rewrite

import (
	"archive/tar"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgharden/imgharden/internal/imagetest"
)

// hostFile reads a file of the host (read-only) for use as image content.
func hostFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Skipf("host file %s: %v", p, err)
	}
	return string(b)
}

// gccBuild compiles C source into dir/out with extra flags.
func gccBuild(t *testing.T, dir, out, src string, flags ...string) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not installed")
	}
	c := filepath.Join(dir, out+".c")
	if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, out)
	cmd := exec.Command("gcc", append([]string{"-o", bin, c}, flags...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	return hostFile(t, bin)
}

// appImage is a merged-usr Debian-like image: /lib, /lib64 and /bin are symlinks, the loader
// and libc come from the host, and an app in /opt/app finds its own library through
// RUNPATH $ORIGIN/../lib while being started through a symlink in /usr/local/bin by a shell
// script.
func appImage(t *testing.T, entrypoint []string) v1.Image {
	t.Helper()
	dir := t.TempDir()
	lib := gccBuild(t, dir, "libgreet.so", `#include <stdio.h>
void greet(void) { puts("hello from libgreet"); }`, "-shared", "-fPIC")
	app := gccBuild(t, dir, "hello", `void greet(void); int main(void) { greet(); return 0; }`,
		"-L"+dir, "-l:libgreet.so", "-Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib")
	const multi = "/usr/lib/x86_64-linux-gnu/"
	base := imagetest.Layer{CreatedBy: "debootstrap", Files: []imagetest.File{
		imagetest.Symlink("/lib", "usr/lib"), imagetest.Symlink("/lib64", "usr/lib64"), imagetest.Symlink("/bin", "usr/bin"),
		{Path: multi + "ld-linux-x86-64.so.2", Mode: 0o755, Content: hostFile(t, multi+"ld-linux-x86-64.so.2")},
		imagetest.Symlink("/usr/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
		{Path: multi + "libc.so.6", Mode: 0o755, Content: hostFile(t, multi+"libc.so.6")},
		{Path: "/usr/bin/dash", Mode: 0o755, Content: hostFile(t, "/usr/bin/dash")},
		imagetest.Symlink("/usr/bin/sh", "dash"),
		{Path: "/usr/bin/cat", Mode: 0o755, Content: hostFile(t, "/usr/bin/cat")},
		{Path: "/usr/bin/su", Mode: fs.ModeSetuid | 0o755, Content: hostFile(t, "/usr/bin/dash")},
		imagetest.Reg("/etc/ld.so.cache", hostFile(t, "/etc/ld.so.cache")),
		imagetest.Reg("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"),
		imagetest.Reg("/etc/group", "root:x:0:\nnogroup:x:65534:\n"),
		imagetest.Reg("/etc/nsswitch.conf", "passwd: files\nhosts: files dns\n"),
		imagetest.Reg("/etc/ssl/certs/ca-certificates.crt", "-----BEGIN CERTIFICATE-----\n"),
		imagetest.Reg("/usr/share/zoneinfo/Etc/UTC", "TZif2"),
		imagetest.Symlink("/etc/localtime", "/usr/share/zoneinfo/Etc/UTC"),
		{Path: "/usr/bin/gcc", Mode: 0o755, Content: "\x7fELF not really"},
	}}
	appLayer := imagetest.Layer{CreatedBy: "COPY app /opt/app", Files: []imagetest.File{
		{Path: "/opt/app/bin/hello", Mode: 0o755, Content: app},
		{Path: "/opt/app/lib/libgreet.so", Mode: 0o644, Content: lib},
		imagetest.Symlink("/usr/local/bin/hello", "/opt/app/bin/hello"),
		{Path: "/app/start.sh", Mode: 0o755, Content: "#!/bin/sh\n# start the app\nset -e\nif [ -n \"$X\" ]; then echo x; fi\nexec hello \"$@\" # greet\n"},
		{Path: "/usr/bin/python3", Mode: 0o755, Content: hostFile(t, "/usr/bin/dash")},
		{Path: "/app/tool.py", Mode: 0o755, Content: "#!/usr/bin/env python3\nprint('hi')\n"},
		{Path: "/usr/bin/env", Mode: 0o755, Content: hostFile(t, "/usr/bin/env")},
	}}
	return imagetest.Image(t, v1.Config{Entrypoint: entrypoint, Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin"}},
		base, appLayer)
}

func inspect(t *testing.T, img v1.Image) *Image {
	t.Helper()
	im, err := Inspect(t.Context(), img, "registry.example/app:1", "sha256:"+strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	return im
}

func TestClosure(t *testing.T) {
	im := inspect(t, appImage(t, []string{"/app/start.sh"}))
	c, err := im.Closure()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/app/start.sh", "/bin/sh", "/etc/ld.so.cache", "/etc/localtime", "/etc/nsswitch.conf",
		"/etc/ssl/certs/ca-certificates.crt", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2",
		"/opt/app/lib/libgreet.so", "/usr/local/bin/hello",
	}
	if !slices.Equal(c.Opened, want) {
		t.Errorf("opened:\n got %q\nwant %q\nnotes %q", c.Opened, want, c.Notes)
	}
	for p, real := range map[string]string{
		"/bin/sh": "/usr/bin/dash", "/lib64/ld-linux-x86-64.so.2": "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
		"/usr/local/bin/hello": "/opt/app/bin/hello", "/etc/localtime": "/usr/share/zoneinfo/Etc/UTC",
	} {
		if c.Real[p] != real {
			t.Errorf("Real[%s] = %q, want %q", p, c.Real[p], real)
		}
	}
	if c.Links["/lib64"] != "usr/lib64" || c.Links["/usr/local/bin/hello"] != "/opt/app/bin/hello" {
		t.Errorf("links: %v", c.Links)
	}
	if c.Static || c.Interpreted != "" {
		t.Errorf("static=%v interpreted=%q", c.Static, c.Interpreted)
	}
	if slices.Contains(c.Opened, "/usr/bin/cat") || slices.Contains(c.Opened, "/usr/bin/su") {
		t.Errorf("closure has files the script does not use: %q", c.Opened)
	}
}

func TestClosureInterpreted(t *testing.T) {
	for _, tc := range []struct {
		name       string
		entrypoint []string
		want       string
	}{
		{"python by name", []string{"python3", "/app/app.py"}, "python"},
		{"env shebang", []string{"/app/tool.py"}, "python"},
		{"shell script is not interpreted", []string{"/app/start.sh"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := inspect(t, appImage(t, tc.entrypoint)).Closure()
			if err != nil {
				t.Fatal(err)
			}
			if c.Interpreted != tc.want {
				t.Errorf("Interpreted = %q, want %q", c.Interpreted, tc.want)
			}
		})
	}
}

func TestClosureNoEntrypoint(t *testing.T) {
	if _, err := inspect(t, appImage(t, nil)).Closure(); err != ErrNoEntrypoint {
		t.Errorf("err = %v, want ErrNoEntrypoint", err)
	}
}

// TestBuildRuns writes the scratch rebuild, unpacks it and runs it in a chroot (as root).
func TestBuildRuns(t *testing.T) {
	im := inspect(t, appImage(t, []string{"/app/start.sh"}))
	c, err := im.Closure()
	if err != nil {
		t.Fatal(err)
	}
	out, err := im.Build(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := out.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "65532:65532" || !slices.Equal(cf.Config.Entrypoint, []string{"/app/start.sh"}) {
		t.Errorf("config: user %q entrypoint %q", cf.Config.User, cf.Config.Entrypoint)
	}
	layers, err := out.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %d, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	root := t.TempDir()
	names := map[string]bool{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names["/"+strings.TrimSuffix(h.Name, "/")] = true
		if h.Mode&0o6000 != 0 {
			t.Errorf("%s keeps setuid/setgid bits", h.Name)
		}
		dst := filepath.Join(root, h.Name)
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(dst, 0o755)
		case tar.TypeSymlink:
			err = os.Symlink(h.Linkname, dst)
		case tar.TypeReg:
			var b []byte
			if b, err = io.ReadAll(tr); err == nil {
				err = os.WriteFile(dst, b, fs.FileMode(h.Mode))
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"/etc/passwd", "/usr/share/zoneinfo/Etc/UTC", "/lib64", "/usr/bin/dash", "/tmp"} {
		if !names[p] {
			t.Errorf("image lacks %s", p)
		}
	}
	for _, p := range []string{"/usr/bin/gcc", "/usr/bin/su", "/usr/bin/cat", "/usr/bin/python3"} {
		if names[p] {
			t.Errorf("image has %s, which the entrypoint does not need", p)
		}
	}
	passwd, _ := os.ReadFile(filepath.Join(root, "etc/passwd"))
	if !strings.Contains(string(passwd), "nonroot:x:65532:65532:") {
		t.Errorf("passwd lacks the nonroot user:\n%s", passwd)
	}
	if os.Geteuid() != 0 {
		t.Skip("running the rebuilt root filesystem needs chroot (root)")
	}
	// The loader reads $ORIGIN from /proc/self/exe, so the root needs its own /proc, as a
	// container has.
	if err := os.Mkdir(filepath.Join(root, "proc"), 0o555); err != nil {
		t.Fatal(err)
	}
	got, err := exec.Command("unshare", "--fork", "--pid", "--mount", "--mount-proc="+filepath.Join(root, "proc"),
		"chroot", root, "/app/start.sh").CombinedOutput()
	if err != nil || string(got) != "hello from libgreet\n" {
		t.Errorf("running the rebuild: %v, output %q", err, got)
	}
}

func TestEmittedDockerfileLints(t *testing.T) {
	im := inspect(t, appImage(t, []string{"/app/start.sh"}))
	c, err := im.Closure()
	if err != nil {
		t.Fatal(err)
	}
	df := im.Dockerfile(c)
	warnings, err := Lint(t.Context(), "Dockerfile", df)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) > 0 {
		t.Errorf("lint warnings %q on\n%s", warnings, df)
	}
	for _, want := range []string{
		"FROM registry.example/app:1@sha256:abab", "FROM scratch\n", "COPY --from=src /usr/bin/dash /bin/sh\n",
		"COPY --from=src /usr/share/zoneinfo /usr/share/zoneinfo\n", "USER 65532:65532\n",
		`ENTRYPOINT ["/app/start.sh"]`, "COPY --from=imgharden-passwd /etc/passwd /etc/group /etc/\n",
	} {
		if !strings.Contains(string(df), want) {
			t.Errorf("Dockerfile lacks %q:\n%s", want, df)
		}
	}
	if _, err := parseDoc("Dockerfile", df); err != nil {
		t.Error(err)
	}
}

func TestParseLdCache(t *testing.T) {
	host := hostFile(t, "/etc/ld.so.cache")
	old := filepath.Join(t.TempDir(), "old.cache")
	formats := map[string]string{"new (host)": host}
	if b, err := exec.Command("ldconfig", "-c", "old", "-C", old).CombinedOutput(); err == nil {
		formats["old (ldconfig -c old)"] = hostFile(t, old)
	} else {
		t.Logf("ldconfig -c old: %v %s", err, b)
	}
	for name, data := range formats {
		t.Run(name, func(t *testing.T) {
			entries, err := parseLdCache([]byte(data))
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, e := range entries {
				if e.name == "libc.so.6" && strings.HasSuffix(e.path, "/libc.so.6") {
					found = true
				}
			}
			if !found {
				t.Errorf("no libc.so.6 among %d entries", len(entries))
			}
		})
	}
	for _, bad := range []string{"", "garbage", "glibc-ld.so.cache1.1\x05\x00"} {
		if _, err := parseLdCache([]byte(bad)); err == nil {
			t.Errorf("parseLdCache(%q) accepted", bad)
		}
	}
}
