package source_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/imgharden/imgharden/internal/imagetest"
	"github.com/imgharden/imgharden/pkg/source"
)

func testImage(t *testing.T) v1.Image {
	return imagetest.Image(t, v1.Config{User: "1000", Env: []string{"A=1"}},
		imagetest.Layer{CreatedBy: "ADD base", Files: []imagetest.File{imagetest.Dir("/etc/"), imagetest.Reg("/etc/os-release", "ID=test\n")}},
		imagetest.Layer{CreatedBy: "COPY app", Files: []imagetest.File{imagetest.Exe("/app")}, Whiteouts: []string{"/etc/os-release"}},
	)
}

// files lists the tar entries of every layer, base first, to compare images read back.
func files(t *testing.T, img v1.Image) []string {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("layer %d: %v", i, err)
			}
			out = append(out, h.Name)
		}
		rc.Close()
	}
	return out
}

func TestParse(t *testing.T) {
	dir := t.TempDir()
	withColon := filepath.Join(dir, "a:b.tar")
	if err := os.WriteFile(withColon, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in        string
		transport source.Transport
		path      string
		name      string
		index     int
		wantErr   bool
	}{
		{"alpine", source.Registry, "", "alpine", -1, false},
		{"docker://127.0.0.1:5000/app:v1", source.Registry, "", "127.0.0.1:5000/app:v1", -1, false},
		{"localhost:5000/app@sha256:" + strings.Repeat("a", 64), source.Registry, "", "localhost:5000/app@sha256:" + strings.Repeat("a", 64), -1, false},
		{"docker-archive:/tmp/x.tar", source.DockerArchive, "/tmp/x.tar", "", -1, false},
		{"docker-archive:/tmp/x.tar:app:v1", source.DockerArchive, "/tmp/x.tar", "app:v1", -1, false},
		{"docker-archive:/tmp/x.tar:@1", source.DockerArchive, "/tmp/x.tar", "", 1, false},
		{"docker-archive:" + withColon, source.DockerArchive, withColon, "", -1, false},
		{"oci-archive:/tmp/x.tar:v2", source.OCIArchive, "/tmp/x.tar", "v2", -1, false},
		{"oci:/tmp/layout", source.OCILayout, "/tmp/layout", "", -1, false},
		{"oci:/tmp/layout:v1", source.OCILayout, "/tmp/layout", "v1", -1, false},
		{"docker-daemon:app:v1", source.DockerDaemon, "", "app:v1", -1, false},
		{"", "", "", "", 0, true},
		{"oci:", "", "", "", 0, true},
		{"oci-archive:/x:@1", "", "", "", 0, true},
		{"containers-storage:app", "", "", "", 0, true},
		{"docker-daemon:", "", "", "", 0, true},
		{"Not A Ref!", "", "", "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := source.Parse(tt.in)
			if tt.wantErr {
				if !errors.Is(err, source.ErrBadReference) {
					t.Fatalf("Parse(%q) err = %v, want ErrBadReference", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Transport != tt.transport || r.Path != tt.path || r.Name != tt.name || r.Index != tt.index {
				t.Fatalf("Parse(%q) = %+v", tt.in, r)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	img := testImage(t)
	want := files(t, img)
	wantCfg, _ := img.ConfigName()
	dir := t.TempDir()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")

	refs := []string{
		"oci:" + filepath.Join(dir, "layout") + ":v1",
		"oci-archive:" + filepath.Join(dir, "oci.tar") + ":v1",
		"docker-archive:" + filepath.Join(dir, "docker.tar") + ":example.com/app:v1",
		host + "/app:v1",
	}
	for _, s := range refs {
		t.Run(strings.SplitN(s, ":", 2)[0], func(t *testing.T) {
			ref, err := source.Parse(s)
			if err != nil {
				t.Fatal(err)
			}
			if err := source.Write(ctx, img, ref); err != nil {
				t.Fatalf("Write: %v", err)
			}
			// Parse again: for archives the path now exists, which changes how PATH:REF splits.
			ref, err = source.Parse(s)
			if err != nil {
				t.Fatal(err)
			}
			got, err := source.Open(ctx, ref)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer got.Close()
			if g := files(t, got); strings.Join(g, ",") != strings.Join(want, ",") {
				t.Fatalf("entries = %v, want %v", g, want)
			}
			if got.ID != wantCfg.String() {
				t.Fatalf("ID = %s, want %s", got.ID, wantCfg)
			}
			if got.Platform != "linux/amd64" {
				t.Fatalf("platform = %q", got.Platform)
			}
			cf, err := got.ConfigFile()
			if err != nil || cf.Config.User != "1000" || len(cf.History) != 2 {
				t.Fatalf("config = %+v, %v", cf, err)
			}
			if ref.Transport != source.DockerArchive && got.ManifestDigest == "" {
				t.Fatal("a source with a real manifest must report its digest")
			}
		})
	}
}

func TestWriteNeverReplacesAFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "mine.tar")
	if err := os.WriteFile(p, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tr := range []string{"docker-archive:", "oci-archive:"} {
		ref, err := source.Parse(tr + p)
		if err != nil {
			t.Fatal(err)
		}
		if err := source.Write(context.Background(), testImage(t), ref); !errors.Is(err, source.ErrDestinationExists) {
			t.Fatalf("%s: err = %v, want ErrDestinationExists", tr, err)
		}
	}
	if b, _ := os.ReadFile(p); string(b) != "precious" {
		t.Fatal("user's file was changed")
	}
	notLayout := t.TempDir()
	os.WriteFile(filepath.Join(notLayout, "notes.txt"), []byte("x"), 0o644)
	ref, _ := source.Parse("oci:" + notLayout)
	if err := source.Write(context.Background(), testImage(t), ref); !errors.Is(err, source.ErrDestinationExists) {
		t.Fatalf("non-empty non-layout dir: err = %v", err)
	}
}

// legacyDockerArchive writes what `podman save --format docker-archive` writes: uncompressed
// layer tars named by their diff ID, and a manifest.json.
func legacyDockerArchive(t *testing.T, p string, img v1.Image, tags ...string) {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	add := func(name string, b []byte) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg})
		tw.Write(b)
	}
	cfg, _ := img.RawConfigFile()
	cfgName, _ := img.ConfigName()
	add(cfgName.Hex+".json", cfg)
	layers, _ := img.Layers()
	var names []string
	for _, l := range layers {
		d, _ := l.DiffID()
		rc, _ := l.Uncompressed()
		b, _ := io.ReadAll(rc)
		rc.Close()
		add(d.Hex+".tar", b)
		names = append(names, d.Hex+".tar")
	}
	man, _ := json.Marshal([]map[string]any{{"Config": cfgName.Hex + ".json", "RepoTags": tags, "Layers": names}})
	add("manifest.json", man)
	tw.Close()
}

func TestLegacyDockerArchiveUsesDiffIDsAsDigests(t *testing.T) {
	img := testImage(t)
	p := filepath.Join(t.TempDir(), "podman.tar")
	legacyDockerArchive(t, p, img, "localhost/app:latest")
	ref, _ := source.Parse("docker-archive:" + p)
	got, err := source.Open(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	layers, _ := got.Layers()
	for i, l := range layers {
		d, _ := l.Digest()
		diff, _ := l.DiffID()
		if d != diff {
			t.Fatalf("layer %d: digest %s != diffID %s for an uncompressed blob", i, d, diff)
		}
		mt, _ := l.MediaType()
		if !strings.Contains(string(mt), "tar") || strings.Contains(string(mt), "gzip") {
			t.Fatalf("layer %d: media type %s", i, mt)
		}
	}
	if g, w := files(t, got), files(t, img); strings.Join(g, ",") != strings.Join(w, ",") {
		t.Fatalf("entries %v want %v", g, w)
	}
	// Select by name, by index, and fail clearly on a wrong name.
	for _, s := range []string{":localhost/app:latest", ":app", ":@0"} {
		r, _ := source.Parse("docker-archive:" + p + s)
		im, err := source.Open(context.Background(), r)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		im.Close()
	}
	r, _ := source.Parse("docker-archive:" + p + ":nope:v9")
	if _, err := source.Open(context.Background(), r); err == nil || !strings.Contains(err.Error(), "localhost/app:latest") {
		t.Fatalf("wrong name: %v", err)
	}
}

func TestBadInputs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	img := testImage(t)

	// A valid layout to corrupt in several ways.
	layoutDir := filepath.Join(dir, "layout")
	ref, _ := source.Parse("oci:" + layoutDir)
	if err := source.Write(ctx, img, ref); err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	ld, _ := layers[1].Digest()
	blob := filepath.Join(layoutDir, "blobs", "sha256", ld.Hex)

	docker := filepath.Join(dir, "docker.tar")
	legacyDockerArchive(t, docker, img)
	whole, _ := os.ReadFile(docker)

	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name     string
		ref      func() string
		atOpen   bool // the error comes from Open (else from reading the layer)
		wantText string
	}{
		{"missing file", func() string { return "docker-archive:" + filepath.Join(dir, "nope.tar") }, true, "no such file"},
		{"not a tar", func() string { return "docker-archive:" + write("junk.tar", bytes.Repeat([]byte("junk"), 300)) }, true, "not a valid tar"},
		{"gzip archive", func() string { return "oci-archive:" + write("gz.tar", []byte{0x1f, 0x8b, 8, 0, 0, 0}) }, true, "gzip-compressed"},
		{"truncated archive", func() string { return "docker-archive:" + write("trunc.tar", whole[:len(whole)/2]) }, true, ""},
		{"no manifest.json", func() string {
			var b bytes.Buffer
			tw := tar.NewWriter(&b)
			tw.WriteHeader(&tar.Header{Name: "x", Size: 1, Mode: 0o644})
			tw.Write([]byte("x"))
			tw.Close()
			return "docker-archive:" + write("nomanifest.tar", b.Bytes())
		}, true, "no manifest.json"},
		{"not a layout", func() string { return "oci:" + t.TempDir() }, true, "not an OCI image layout"},
		{"layout tag missing", func() string { return "oci:" + layoutDir + ":nope" }, true, "no image tagged"},
		{"layer digest mismatch", func() string {
			b, _ := os.ReadFile(blob)
			b[len(b)/2] ^= 0xff
			os.WriteFile(blob, b, 0o644)
			return "oci:" + layoutDir
		}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := source.Parse(tt.ref())
			if err != nil {
				t.Fatal(err)
			}
			got, err := source.Open(ctx, r)
			if tt.atOpen {
				if err == nil {
					got.Close()
					t.Fatal("Open succeeded on bad input")
				}
				if !strings.Contains(err.Error(), tt.wantText) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("err = %q, want one line containing %q", err, tt.wantText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer got.Close()
			ls, _ := got.Layers()
			rc, err := ls[1].Uncompressed()
			if err == nil {
				_, err = io.Copy(io.Discard, rc)
				rc.Close()
			}
			if err == nil {
				t.Fatal("corrupt layer read without error")
			}
		})
	}
}

func TestUnsupportedMediaType(t *testing.T) {
	// An artifact (config media type not an image config) is refused with a clear message.
	dir := t.TempDir()
	ref, _ := source.Parse("oci:" + dir)
	if err := source.Write(context.Background(), testImage(t), ref); err != nil {
		t.Fatal(err)
	}
	idxRaw, _ := os.ReadFile(filepath.Join(dir, "index.json"))
	var idx v1.IndexManifest
	json.Unmarshal(idxRaw, &idx)
	manPath := filepath.Join(dir, "blobs", "sha256", idx.Manifests[0].Digest.Hex)
	manRaw, _ := os.ReadFile(manPath)
	var man map[string]any
	json.Unmarshal(manRaw, &man)
	man["config"].(map[string]any)["mediaType"] = "application/vnd.example.sbom+json"
	newRaw, _ := json.Marshal(man)
	h, _, _ := v1.SHA256(bytes.NewReader(newRaw))
	os.WriteFile(filepath.Join(dir, "blobs", "sha256", h.Hex), newRaw, 0o644)
	idx.Manifests[0].Digest, idx.Manifests[0].Size = h, int64(len(newRaw))
	idxRaw, _ = json.Marshal(idx)
	os.WriteFile(filepath.Join(dir, "index.json"), idxRaw, 0o644)
	if _, err := source.Open(context.Background(), ref); err == nil || !strings.Contains(err.Error(), "not a container image") {
		t.Fatalf("err = %v", err)
	}
}

func TestDiffIDVerifiedOnEveryPath(t *testing.T) {
	ctx := context.Background()
	img := testImage(t)
	dir := t.TempDir()

	// An uncompressed docker-archive layer whose bytes no longer match the diff ID.
	docker := filepath.Join(dir, "docker.tar")
	legacyDockerArchive(t, docker, img)
	b, _ := os.ReadFile(docker)
	i := bytes.Index(b, []byte("ID=test"))
	if i < 0 {
		t.Fatal("layer content not found in the archive")
	}
	b[i] = 'X'
	os.WriteFile(docker, b, 0o644)

	// A gzip layout blob that is intact, but whose config names another diff ID.
	layoutDir := filepath.Join(dir, "layout")
	other := imagetest.WithHistory(t, img, nil)
	cf, _ := other.ConfigFile()
	cf = cf.DeepCopy()
	cf.RootFS.DiffIDs[0], _ = v1.NewHash("sha256:" + strings.Repeat("0", 64))
	lied, err := mutateConfig(other, cf)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := source.Parse("oci:" + layoutDir)
	if err := source.Write(ctx, lied, ref); err != nil {
		t.Fatal(err)
	}

	for _, s := range []string{"docker-archive:" + docker, "oci:" + layoutDir} {
		t.Run(strings.SplitN(s, ":", 2)[0], func(t *testing.T) {
			r, _ := source.Parse(s)
			got, err := source.Open(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			defer got.Close()
			ls, _ := got.Layers()
			rc, err := ls[0].Uncompressed()
			if err == nil {
				_, err = io.Copy(io.Discard, rc)
				rc.Close()
			}
			if err == nil || !strings.Contains(err.Error(), "digest mismatch") {
				t.Fatalf("err = %v, want a digest mismatch", err)
			}
			if v, ok := ls[0].(interface{ VerifiesDiffID() bool }); !ok || !v.VerifiesDiffID() {
				t.Fatal("source layers must tell the engine they verify the diff ID")
			}
		})
	}
}

func mutateConfig(img v1.Image, cf *v1.ConfigFile) (v1.Image, error) {
	return mutate.ConfigFile(img, cf)
}
