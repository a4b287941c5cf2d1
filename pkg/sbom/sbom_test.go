package sbom_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/imgharden/imgharden/internal/imagetest"
	"github.com/imgharden/imgharden/pkg/sbom"
)

const osRelease = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
`

const dpkgStatus = `Package: base-files
Essential: yes
Status: install ok installed
Priority: required
Section: admin
Installed-Size: 340
Maintainer: Santiago Vila <sanvila@debian.org>
Architecture: amd64
Version: 12.4+deb12u9
Description: Debian base system miscellaneous files

Package: curl
Status: install ok installed
Priority: optional
Section: web
Installed-Size: 500
Maintainer: Alessandro Ghedini <ghedo@debian.org>
Architecture: amd64
Version: 7.88.1-10+deb12u8
Depends: libc6 (>= 2.34)
Description: command line tool for transferring data with URL syntax

Package: libc6
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 12000
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u9
Description: GNU C Library: Shared libraries

Package: wget
Status: deinstall ok config-files
Priority: standard
Section: web
Architecture: amd64
Version: 1.21.3-1+b2
Description: retrieves files from the web
`

const apkInstalled = `C:Q1abc=
P:busybox
V:1.36.1-r29
A:x86_64
S:500000
I:900000
T:Size optimized toolbox of many common UNIX utilities
U:https://busybox.net/
L:GPL-2.0-only
o:busybox
F:bin
R:busybox

C:Q1def=
P:musl
V:1.2.5-r0
A:x86_64
S:400000
I:600000
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
F:lib
R:ld-musl-x86_64.so.1
`

func debianImage(t testing.TB) v1.Image {
	return imagetest.Image(t, v1.Config{}, imagetest.Layer{CreatedBy: "ADD rootfs.tar /", Files: []imagetest.File{
		imagetest.Dir("/etc/"), imagetest.Reg("/etc/os-release", osRelease),
		imagetest.Dir("/var/lib/dpkg/"), imagetest.Reg("/var/lib/dpkg/status", dpkgStatus),
		imagetest.Dir("/var/lib/dpkg/info/"), imagetest.Reg("/var/lib/dpkg/info/curl.list", "/usr/bin/curl\n"),
		imagetest.Exe("/usr/bin/curl"),
	}})
}

func alpineImage(t testing.TB) v1.Image {
	return imagetest.Image(t, v1.Config{}, imagetest.Layer{CreatedBy: "ADD rootfs.tar /", Files: []imagetest.File{
		imagetest.Reg("/etc/os-release", "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.21.0\n"),
		imagetest.Reg("/lib/apk/db/installed", apkInstalled), imagetest.Exe("/bin/busybox"),
	}})
}

func scratchImage(t testing.TB) v1.Image {
	return imagetest.Image(t, v1.Config{}, imagetest.Layer{Files: []imagetest.File{imagetest.Exe("/app")}})
}

// tempDir points TMPDIR at a fresh directory and returns it.
func tempDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	t.Setenv("TMPDIR", d)
	return d
}

func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	var left []string
	filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if p != dir {
			left = append(left, p)
		}
		return err
	})
	if len(left) > 0 {
		t.Errorf("left behind in TMPDIR: %q", left)
	}
}

func TestGenerate(t *testing.T) {
	tests := []struct {
		name  string
		image func(testing.TB) v1.Image
		want  []string // type/name@version
	}{
		{"debian: installed packages, not the deinstalled one", debianImage,
			[]string{"deb/base-files@12.4+deb12u9", "deb/curl@7.88.1-10+deb12u8", "deb/libc6@2.36-9+deb12u9"}},
		{"alpine", alpineImage, []string{"apk/busybox@1.36.1-r29", "apk/musl@1.2.5-r0"}},
		{"scratch: no packages", scratchImage, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := tempDir(t)
			s, err := sbom.Generate(t.Context(), tt.image(t), sbom.WithName("example.com/app:1"), sbom.WithToolVersion("v0.0.0-test"))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range s.Packages() {
				got = append(got, p.Type+"/"+p.Name+"@"+p.Version)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("packages %q, want %q", got, tt.want)
			}
			assertEmpty(t, tmp)
			for _, f := range sbom.Formats() {
				var buf bytes.Buffer
				if err := s.Encode(&buf, f); err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				if err := validate(t, f, buf.Bytes()); err != nil {
					t.Errorf("%s does not validate: %v", f, err)
				}
				for _, w := range tt.want {
					name := strings.Split(strings.TrimPrefix(w, strings.SplitN(w, "/", 2)[0]+"/"), "@")[0]
					if !bytes.Contains(buf.Bytes(), []byte(`"`+name+`"`)) {
						t.Errorf("%s does not name package %s", f, name)
					}
				}
			}
		})
	}
}

func TestEncodeHeaders(t *testing.T) {
	tempDir(t)
	s, err := sbom.Generate(t.Context(), debianImage(t), sbom.WithName("example.com/app:1"), sbom.WithToolVersion("v1.2.3"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		format sbom.Format
		field  string
		want   string
	}{
		{sbom.SPDXJSON, "spdxVersion", "SPDX-2.3"},
		{sbom.SPDXJSON, "name", "example.com/app"},
		{sbom.CycloneDXJSON, "bomFormat", "CycloneDX"},
		{sbom.CycloneDXJSON, "specVersion", "1.7"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		if err := s.Encode(&buf, tt.format); err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		if got := doc[tt.field]; got != tt.want {
			t.Errorf("%s %s = %v, want %q", tt.format, tt.field, got, tt.want)
		}
		if !bytes.Contains(buf.Bytes(), []byte("imgharden")) || !bytes.Contains(buf.Bytes(), []byte("v1.2.3")) {
			t.Errorf("%s does not name the tool imgharden v1.2.3", tt.format)
		}
	}
	var buf bytes.Buffer
	if err := s.Encode(&buf, sbom.SyftJSON); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Artifacts []struct{ Name, Type string }
		Schema    struct{ Version string }
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil || len(doc.Artifacts) != 3 || doc.Schema.Version == "" {
		t.Errorf("syft-json: %v, %d artifacts, schema %q", err, len(doc.Artifacts), doc.Schema.Version)
	}
	if err := s.Encode(io.Discard, "spdx-tag-value"); !errors.Is(err, sbom.ErrUnknownFormat) {
		t.Errorf("unknown format: %v", err)
	}
}

func TestParseFormat(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want sbom.Format
		ok   bool
	}{
		{"spdx-json", sbom.SPDXJSON, true}, {"cyclonedx-json", sbom.CycloneDXJSON, true}, {"syft-json", sbom.SyftJSON, true},
		{"spdx", "", false}, {"SPDX-JSON", "", false}, {"", "", false}, {"cyclonedx-xml", "", false},
	} {
		got, err := sbom.ParseFormat(tt.in)
		if got != tt.want || (err == nil) != tt.ok || (err != nil && !errors.Is(err, sbom.ErrUnknownFormat)) {
			t.Errorf("ParseFormat(%q) = %q, %v", tt.in, got, err)
		}
	}
}

// hookImage replaces the layers of an image, to make one fail or stall mid-read.
type hookImage struct {
	v1.Image
	layers []v1.Layer
}

func (h hookImage) Layers() ([]v1.Layer, error) { return h.layers, nil }

// hookLayer serves the first half of the layer, calls mid, then fails with what stall returns.
type hookLayer struct {
	v1.Layer
	mid   func()
	stall func() error
}

func (l hookLayer) Uncompressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Uncompressed()
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, err
	}
	return io.NopCloser(io.MultiReader(bytes.NewReader(b[:len(b)/2]), readerFunc(func([]byte) (int, error) {
		l.mid()
		return 0, l.stall()
	}))), nil
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// stalling returns img with its last layer wrapped.
func stalling(t testing.TB, img v1.Image, mid func(), stall func() error) v1.Image {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	ls[len(ls)-1] = hookLayer{Layer: ls[len(ls)-1], mid: mid, stall: stall}
	return hookImage{Image: img, layers: ls}
}

// listTree lists what is under dir (for proving that a test saw syft's copies).
func listTree(dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if p != dir {
			out = append(out, strings.TrimPrefix(p, dir))
		}
		return nil
	})
	return out
}

// Whatever ends a run (success, a failing layer, a cancelled context), nothing stays in TMPDIR.
func TestTempFilesRemovedOnEveryExit(t *testing.T) {
	tests := []struct {
		name    string
		cancel  bool
		stall   func(ctx context.Context) error
		wantErr error
	}{
		{"layer read fails", false, func(context.Context) error { return errors.New("connection reset by peer") }, nil},
		{"context cancelled mid-layer (Ctrl-C)", true, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := tempDir(t)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var during []string
			img := stalling(t, debianImage(t), func() {
				during = listTree(tmp)
				if tt.cancel {
					cancel()
				}
			}, func() error { return tt.stall(ctx) })
			_, err := sbom.Generate(ctx, img)
			if err == nil {
				t.Fatal("Generate succeeded")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if !slices.ContainsFunc(during, func(p string) bool { return strings.Contains(p, "/layers/") }) {
				t.Errorf("no layer copy in TMPDIR while the layer was read (saw %q): the test proves nothing", during)
			}
			assertEmpty(t, tmp)
		})
	}
}

func TestCorruptLayerIsAnError(t *testing.T) {
	tmp := tempDir(t)
	bad, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader("this is not a tar archive, not at all, it is far too short")), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	img := hookImage{Image: scratchImage(t), layers: []v1.Layer{bad}}
	if _, err := sbom.Generate(t.Context(), img); err == nil {
		t.Error("Generate accepted a layer that is not a tar")
	}
	assertEmpty(t, tmp)
}

// TestInterruptHelper is the child process of TestInterruptRemovesTempFiles: it generates an
// SBOM of an image whose last layer stalls until SIGINT cancels the context, as Ctrl-C does
// to cmd/imgharden (signal.NotifyContext).
func TestInterruptHelper(t *testing.T) {
	if os.Getenv("IMGHARDEN_SBOM_INTERRUPT_HELPER") != "1" {
		t.Skip("child process of TestInterruptRemovesTempFiles")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	img := stalling(t, debianImage(t), func() { fmt.Println("READY") }, func() error { <-ctx.Done(); return ctx.Err() })
	_, err := sbom.Generate(ctx, img)
	fmt.Printf("RESULT: %v\n", err)
}

func TestInterruptRemovesTempFiles(t *testing.T) {
	tmp := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestInterruptHelper$", "-test.v")
	cmd.Env = append(os.Environ(), "IMGHARDEN_SBOM_INTERRUPT_HELPER=1", "TMPDIR="+tmp)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	var lines []string
	ready := false
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if sc.Text() == "READY" {
			ready = true
			if during := listTree(tmp); !slices.ContainsFunc(during, func(p string) bool { return strings.Contains(p, "/layers/") }) {
				t.Errorf("no layer copy in TMPDIR while the layer was read (saw %q)", during)
			}
			if err := cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("child: %v\n%s", err, strings.Join(lines, "\n"))
	}
	if !ready || !slices.ContainsFunc(lines, func(l string) bool {
		return strings.HasPrefix(l, "RESULT: ") && strings.Contains(l, "context canceled")
	}) {
		t.Errorf("child did not stop on SIGINT with a cancelled context:\n%s", strings.Join(lines, "\n"))
	}
	assertEmpty(t, tmp)
}

// syft's rpm (sqlite rpmdb) and nix catalogers need a database/sql driver named "sqlite";
// importing pkg/sbom registers modernc's pure-Go one.
func TestSQLiteDriverRegistered(t *testing.T) {
	if !slices.Contains(sql.Drivers(), "sqlite") {
		t.Fatalf("no sqlite driver registered (have %q)", sql.Drivers())
	}
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v string
	if err := db.QueryRow("select sqlite_version()").Scan(&v); err != nil || v == "" {
		t.Fatalf("sqlite query: %q, %v", v, err)
	}
}
