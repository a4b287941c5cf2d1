package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgharden/imgharden/internal/imagetest"
	"github.com/imgharden/imgharden/pkg/finding"
	"github.com/imgharden/imgharden/pkg/sbom"
	"github.com/imgharden/imgharden/pkg/source"
)

func Test_NewCmdSBOM(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		args    []string
		wantErr int
		want    sbomOutput
	}{
		{"defaults", []string{"x"}, 0, sbomOutput{"-", sbom.SPDXJSON}},
		{"format and file", []string{"-f", "cyclonedx-json", "-o", filepath.Join(dir, "a.json"), "x"}, 0,
			sbomOutput{filepath.Join(dir, "a.json"), sbom.CycloneDXJSON}},
		{"syft-json", []string{"--format", "syft-json", "x"}, 0, sbomOutput{"-", sbom.SyftJSON}},
		{"unknown format", []string{"-f", "spdx-tag-value", "x"}, ExitUsage, sbomOutput{}},
		{"missing directory", []string{"-o", filepath.Join(dir, "nope", "a.json"), "x"}, ExitUsage, sbomOutput{}},
		{"no image", nil, ExitUsage, sbomOutput{}},
		{"two images", []string{"a", "b"}, ExitUsage, sbomOutput{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *SBOMOptions
			cmd := NewCmdSBOM("test", func(_ context.Context, o *SBOMOptions) error { got = o; return nil })
			setFlagErrors(cmd)
			cmd.SetArgs(tt.args)
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if ExitCode(err) != tt.wantErr {
				t.Fatalf("err = %v (exit %d), want exit %d", err, ExitCode(err), tt.wantErr)
			}
			if tt.wantErr == 0 && got.Output != tt.want {
				t.Errorf("output %+v, want %+v", got.Output, tt.want)
			}
		})
	}
}

func TestScanSBOMFlag(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "s.json")
	tests := []struct {
		name    string
		args    []string
		wantErr int
		want    []sbomOutput
	}{
		{"none", []string{"x"}, 0, nil},
		{"path only: spdx-json", []string{"--sbom", p, "x"}, 0, []sbomOutput{{p, sbom.SPDXJSON}}},
		{"path and format, repeated", []string{"--sbom", p + "=cyclonedx-json", "--sbom", p + ".syft=syft-json", "x"}, 0,
			[]sbomOutput{{p, sbom.CycloneDXJSON}, {p + ".syft", sbom.SyftJSON}}},
		{"= in a directory name", []string{"--sbom", filepath.Join(dir, "a=b.json"), "x"}, 0,
			[]sbomOutput{{filepath.Join(dir, "a=b.json"), sbom.SPDXJSON}}},
		{"unknown format", []string{"--sbom", p + "=spdx", "x"}, ExitUsage, nil},
		{"no path", []string{"--sbom", "=spdx-json", "x"}, ExitUsage, nil},
		{"stdout is the report's", []string{"--sbom", "-", "x"}, ExitUsage, nil},
		{"missing directory", []string{"--sbom", filepath.Join(dir, "nope", "s.json"), "x"}, ExitUsage, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *ScanOptions
			cmd := NewCmdScan("test", func(_ context.Context, o *ScanOptions) error { got = o; return nil })
			setFlagErrors(cmd)
			cmd.SetArgs(tt.args)
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if ExitCode(err) != tt.wantErr {
				t.Fatalf("err = %v (exit %d), want exit %d", err, ExitCode(err), tt.wantErr)
			}
			if tt.wantErr != 0 {
				return
			}
			if len(got.SBOMs) != len(tt.want) {
				t.Fatalf("sboms %+v, want %+v", got.SBOMs, tt.want)
			}
			for i := range tt.want {
				if got.SBOMs[i] != tt.want[i] {
					t.Errorf("sbom %d: %+v, want %+v", i, got.SBOMs[i], tt.want[i])
				}
			}
		})
	}
}

const testDpkgStatus = `Package: curl
Status: install ok installed
Architecture: amd64
Version: 7.88.1-10+deb12u8
Description: command line tool for transferring data with URL syntax

Package: dash
Essential: yes
Status: install ok installed
Architecture: amd64
Version: 0.5.12-2
Description: POSIX-compliant shell
`

func debianTestImage(t *testing.T) v1.Image {
	return imagetest.Image(t, v1.Config{}, imagetest.Layer{CreatedBy: "ADD rootfs.tar /", Files: []imagetest.File{
		imagetest.Reg("/etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n"),
		imagetest.Reg("/var/lib/dpkg/status", testDpkgStatus),
		imagetest.Reg("/var/lib/dpkg/info/curl.list", "/usr/bin/curl\n"),
		imagetest.Reg("/var/lib/dpkg/info/dash.list", "/bin/dash\n"),
		imagetest.Exe("/usr/bin/curl"), imagetest.Exe("/bin/dash"),
	}})
}

func Test_sbomRun(t *testing.T) {
	dir := t.TempDir()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	existing := filepath.Join(dir, "keep.json")
	if err := os.WriteFile(existing, []byte("previous"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		image    string
		out      sbomOutput
		wantExit int
		wantIn   string // in the document
		wantErr  string // in stderr summary or error
	}{
		{"spdx to stdout", "app:deb", sbomOutput{"-", sbom.SPDXJSON}, ExitOK, `"spdxVersion": "SPDX-2.3"`,
			"imgharden: sbom: 2 packages (deb 2) → stdout (spdx-json)"},
		{"cyclonedx to a file", "app:deb", sbomOutput{filepath.Join(dir, "a.cdx.json"), sbom.CycloneDXJSON}, ExitOK, `"bomFormat": "CycloneDX"`,
			"→ " + filepath.Join(dir, "a.cdx.json") + " (cyclonedx-json)"},
		{"replaces a file", "app:deb", sbomOutput{existing, sbom.SyftJSON}, ExitOK, `"name": "dash"`, "deb 2"},
		{"registry error", "app:missing", sbomOutput{"-", sbom.SPDXJSON}, ExitRuntime, "", "connection refused"},
		{"malformed reference", "oci:", sbomOutput{"-", sbom.SPDXJSON}, ExitUsage, "", "bad image reference"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			o := &SBOMOptions{Out: &out, ErrOut: &errOut, Image: tt.image, Output: tt.out, Version: "test",
				LoadImage: inject(map[string]v1.Image{"app:deb": debianTestImage(t)})}
			err := sbomRun(context.Background(), o)
			if got := ExitCode(err); got != tt.wantExit {
				t.Fatalf("exit %d (%v), want %d", got, err, tt.wantExit)
			}
			doc := out.String()
			if tt.out.path != "-" && err == nil {
				b, rerr := os.ReadFile(tt.out.path)
				if rerr != nil {
					t.Fatal(rerr)
				}
				doc = string(b)
			}
			if tt.wantIn != "" && !strings.Contains(doc, tt.wantIn) {
				t.Errorf("document lacks %q", tt.wantIn)
			}
			if tt.wantExit == ExitOK && !json.Valid([]byte(doc)) {
				t.Error("document is not JSON")
			}
			if msg := errOut.String() + errString(err); !strings.Contains(msg, tt.wantErr) {
				t.Errorf("stderr/error %q lacks %q", msg, tt.wantErr)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("TMPDIR not empty: %d entries", len(left))
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// blobGets counts registry blob downloads by digest.
type blobGets struct {
	mu   sync.Mutex
	n    map[string]int
	next http.Handler
}

func (b *blobGets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if i := strings.Index(r.URL.Path, "/blobs/"); i >= 0 && r.Method == http.MethodGet {
		b.mu.Lock()
		b.n[r.URL.Path[i+len("/blobs/"):]]++
		b.mu.Unlock()
	}
	b.next.ServeHTTP(w, r)
}

// scan --sbom on a registry image downloads each layer once for the scan and syft together,
// and leaves nothing in TMPDIR.
func TestScanSBOMDownloadsOnce(t *testing.T) {
	dir := t.TempDir() // before TMPDIR moves: t.TempDir creates under it
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	gets := &blobGets{n: map[string]int{}, next: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	srv := httptest.NewServer(gets)
	t.Cleanup(srv.Close)
	ref := strings.TrimPrefix(srv.URL, "http://") + "/app:v1"
	img := imagetest.Image(t, v1.Config{},
		imagetest.Layer{CreatedBy: "ADD rootfs.tar /", Files: []imagetest.File{
			imagetest.Reg("/etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n"),
			imagetest.Reg("/var/lib/dpkg/status", testDpkgStatus), imagetest.Exe("/bin/dash"),
		}},
		imagetest.Layer{CreatedBy: "RUN apt-get install -y curl", Files: []imagetest.File{
			imagetest.Reg("/var/lib/dpkg/info/curl.list", "/usr/bin/curl\n"), imagetest.Exe("/usr/bin/curl"),
		}},
	)
	r, err := source.Parse(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := source.Write(context.Background(), img, r); err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	for _, cached := range []bool{false, true} {
		name := "scan alone"
		if cached {
			name = "scan --sbom"
		}
		t.Run(name, func(t *testing.T) {
			gets.mu.Lock()
			gets.n = map[string]int{}
			gets.mu.Unlock()
			o := &ScanOptions{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}, Image: ref, GateOptions: GateOptions{Format: "json", FailOn: finding.SeverityNone,
				MaxFile: 1 << 20}, Now: func() time.Time { return imagetest.Epoch }, LoadImage: source.Open}
			if cached {
				o.SBOMs = []sbomOutput{{filepath.Join(dir, "s.spdx.json"), sbom.SPDXJSON}, {filepath.Join(dir, "s.cdx.json"), sbom.CycloneDXJSON}}
			}
			if err := scanRun(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			for i, l := range layers {
				d, _ := l.Digest()
				gets.mu.Lock()
				n := gets.n[d.String()]
				gets.mu.Unlock()
				if n != 1 {
					t.Errorf("layer %d downloaded %d times, want once", i, n)
				}
			}
			for _, out := range o.SBOMs {
				b, err := os.ReadFile(out.path)
				if err != nil || !bytes.Contains(b, []byte(`"curl"`)) || !bytes.Contains(b, []byte(`"dash"`)) {
					t.Errorf("%s: %v, lacks curl or dash", out.path, err)
				}
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("TMPDIR not empty: %d entries", len(left))
			}
		})
	}
}

// Outputs that are not regular files are written through, never replaced by a rename.
func TestWriteFileAtomicKeepsSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target.json")
	link := filepath.Join(dir, "link.json")
	if err := os.WriteFile(target, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("target.json", link); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain.json")
	// A FIFO stands in for /dev/null: a broken implementation must not replace the real one.
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	fromFIFO := make(chan string, 1)
	go func() {
		b, _ := os.ReadFile(fifo)
		fromFIFO <- string(b)
	}()
	for _, tt := range []struct {
		name, path, readBack, want string
		mode                       os.FileMode // type bits of the path afterwards
	}{
		{"a FIFO stays a FIFO", fifo, "", "", os.ModeNamedPipe},
		{"a symlink stays a link, its target gets the content", link, target, "new", os.ModeSymlink},
		{"a new file", plain, plain, "new", 0},
		{"an existing file is replaced", plain, plain, "new", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := writeFileAtomic(tt.path, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Lstat(tt.path)
			if err != nil || fi.Mode().Type() != tt.mode {
				t.Fatalf("%s: %v, type %v, want %v", tt.path, err, fi.Mode().Type(), tt.mode)
			}
			if tt.readBack != "" {
				if b, _ := os.ReadFile(tt.readBack); string(b) != tt.want {
					t.Errorf("%s holds %q, want %q", tt.readBack, b, tt.want)
				}
			}
		})
	}
	select {
	case got := <-fromFIFO:
		if got != "new" {
			t.Errorf("the FIFO's reader got %q", got)
		}
	case <-time.After(10 * time.Second): // a hang guard, not a performance assertion
		t.Error("nothing was written through the FIFO")
	}
}
