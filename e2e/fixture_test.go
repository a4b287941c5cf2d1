//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// TestFixtureForms proves that every input form of every fixture holds the same image: the same
// config digest and layer diffIDs, and for the forms that keep the manifest (OCI layout,
// oci-archive, registry), the same manifest digest. It also pins the reference strings.
func TestFixtureForms(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			im := Fixture(t, name)
			want := im.Open(t, OCILayout)
			wantCfg := mustDigest(t, want.ConfigName)
			wantMf := mustDigest(t, want.Digest)
			wantDiffIDs := diffIDs(t, want)
			small := smallestLayer(t, want)
			if wantCfg.String() != im.ID {
				t.Errorf("OCI layout config digest %s, podman image ID %s", wantCfg, im.ID)
			}
			refPattern := map[Transport]*regexp.Regexp{
				DockerArchive: regexp.MustCompile(`^docker-archive:/\S+/docker-archive\.tar$`),
				OCIArchive:    regexp.MustCompile(`^oci-archive:/\S+/oci-archive\.tar$`),
				OCILayout:     regexp.MustCompile(`^oci:/\S+/oci:latest$`),
				Registry:      regexp.MustCompile(`^127\.0\.0\.1:\d+/imgharden-e2e/` + name + `:latest$`),
				Daemon:        regexp.MustCompile(`^docker-daemon:localhost/imgharden-e2e/` + name + `:latest$`),
			}
			for _, tr := range Transports {
				t.Run(string(tr), func(t *testing.T) {
					if ref := im.Ref(tr); !refPattern[tr].MatchString(ref) {
						t.Errorf("Ref(%s) = %q, want it to match %s", tr, ref, refPattern[tr])
					}
					img := im.Open(t, tr)
					if got := mustDigest(t, img.ConfigName); got != wantCfg {
						t.Errorf("config digest %s, want %s", got, wantCfg)
					}
					if got := diffIDs(t, img); !slices.Equal(got, wantDiffIDs) {
						t.Errorf("diffIDs %v, want %v", got, wantDiffIDs)
					}
					// Read one layer's bytes too: a form must serve the content, not only a config.
					if got := layerDiffID(t, img, small); got != wantDiffIDs[small] {
						t.Errorf("layer %d content digests to %s, want diffID %s", small, got, wantDiffIDs[small])
					}
					if tr == OCIArchive || tr == Registry {
						if got := mustDigest(t, img.Digest); got != wantMf {
							t.Errorf("manifest digest %s, want %s (as in the OCI layout)", got, wantMf)
						}
					}
				})
			}
		})
	}
}

// TestFixturePlants proves that each planted problem really is in the built image, read back
// with go-containerregistry from the docker-archive (uncompressed, the quickest to read;
// TestFixtureForms shows the other forms hold the same image). Layers are checked one by one, and the final rootfs through mutate.Extract,
// which applies whiteouts (ggcr's reading of them, not ours).
func TestFixturePlants(t *testing.T) {
	for _, name := range Names() {
		checks := plants[name]
		if len(checks) == 0 {
			t.Errorf("fixture %s has no plant checks", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			im := Fixture(t, name)
			img := im.Open(t, DockerArchive)
			cfg, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			s := inspect(t, img, bodies[name])
			for _, c := range checks {
				t.Run(c.name, func(t *testing.T) { c.check(t, s, cfg) })
			}
		})
	}
}

// bodies lists, per fixture, the path prefixes whose file bodies the checks read; the rest of
// the image is read for its headers only (fat-builder is half a gigabyte).
var bodies = map[string][]string{
	Secrets:  {"/app/", "/root/"},
	Stripped: {"/app/", "/root/"},
	Clean:    {"/"},
}

type plant struct {
	name  string
	check func(t *testing.T, s *snapshot, cfg *v1.ConfigFile)
}

// Capability bits (linux/capability.h) and the vfs_cap_data revision 2 layout.
const (
	capNetBindService = 10
	capNetRaw         = 13
	vfsCapRevision2   = 0x02000000
	vfsCapFlagsEff    = 0x000001
)

var plants = map[string][]plant{
	FatBuilder: {
		{"compilers, network tools, package managers present", func(t *testing.T, s *snapshot, _ *v1.ConfigFile) {
			for _, p := range []string{"/usr/bin/gcc", "/usr/bin/g++", "/usr/bin/make", "/usr/bin/cc",
				"/usr/bin/curl", "/usr/bin/wget", "/usr/bin/nc.openbsd", "/usr/bin/git", "/usr/bin/python3",
				"/usr/bin/pip3", "/usr/bin/apt-get", "/usr/bin/dpkg", "/usr/bin/bash", "/usr/bin/dash"} {
				s.wantFinal(t, p)
			}
		}},
		{"apt lists and .deb files left behind", func(t *testing.T, s *snapshot, _ *v1.ConfigFile) {
			lists := s.finalMatching(func(e *fsEntry) bool {
				return strings.HasPrefix(e.Path, "/var/lib/apt/lists/") && strings.HasSuffix(e.Path, "_Packages") && e.Hdr.Size > 0
			})
			debs := s.finalMatching(func(e *fsEntry) bool {
				return strings.HasPrefix(e.Path, "/var/cache/apt/archives/") && strings.HasSuffix(e.Path, ".deb")
			})
			if len(lists) == 0 || len(debs) < 10 {
				t.Errorf("apt lists %d, cached .deb files %d; want lists left behind and the downloaded packages", len(lists), len(debs))
			}
		}},
		{"root user, no healthcheck", func(t *testing.T, _ *snapshot, cfg *v1.ConfigFile) {
			if cfg.Config.User != "" || cfg.Config.Healthcheck != nil {
				t.Errorf("User %q Healthcheck %v, want none", cfg.Config.User, cfg.Config.Healthcheck)
			}
		}},
	},
	Secrets: {
		{"private key added, then deleted by a whiteout in a later layer", func(t *testing.T, s *snapshot, _ *v1.ConfigFile) {
			added := s.layersWith("/app/id_ed25519")
			wh := s.layersWith("/app/.wh.id_ed25519")
			if len(added) != 1 || len(wh) != 1 || wh[0] <= added[0] {
				t.Fatalf("key in layers %v, whiteout in layers %v; want a later whiteout", added, wh)
			}
			if body := s.at(added[0], "/app/id_ed25519").Body; !bytes.HasPrefix(body, []byte("-----BEGIN OPENSSH PRIVATE KEY-----\n")) {
				t.Errorf("deleted key body starts %q", first(body, 40))
			}
			s.wantNotFinal(t, "/app/id_ed25519")
		}},
		{"PKCS#8 private key kept", func(t *testing.T, s *snapshot, _ *v1.ConfigFile) {
			if body := s.wantFinal(t, "/app/tls/server.key").Body; !bytes.HasPrefix(body, []byte("-----BEGIN PRIVATE KEY-----\n")) {
				t.Errorf("server.key starts %q", first(body, 40))
			}
		}},
		{"credentials overwritten in a later layer", func(t *testing.T, s *snapshot, _ *v1.ConfigFile) {
			ls := s.layersWith("/root/.aws/credentials")
			if len(ls) != 2 {
				t.Fatalf("credentials in layers %v, want two (written, then overwritten)", ls)
			}
			if body := s.at(ls[0], "/root/.aws/credentials").Body; !bytes.Contains(body, []byte("AKIAIOSFODNN7EXAMPLE")) {
				t.Errorf("first version has no access key: %q", body)
			}
			if body := s.wantFinal(t, "/root/.aws/credentials").Body; bytes.Contains(body, []byte("AKIA")) || bytes.Contains(body, []byte("secret")) {
				t.Errorf("final version still has the secret: %q", body)
			}
		}},
		{"secrets in .env, config and credential files", func(t *testing.T, s *snapshot, _ *v1.ConfigFile) {
			for p, want := range map[string]string{
				"/app/.env":                "DB_PASSWORD=not-a-real-password-e2e",
				"/app/config/database.yml": "password: not-a-real-password-e2e",
				"/root/.npmrc":             "_authToken=npm_0EXAMPLE",
				"/root/.git-credentials":   "https://ci:ghp_0EXAMPLE",
				"/app/Dockerfile":          "FROM localhost/debian:bookworm",
				"/app/.git/HEAD":           "ref: refs/heads/main",
				"/root/.cache/pip/http-v2/a/b/c/0123456789abcdef": "cached wheel",
			} {
				if body := s.wantFinal(t, p).Body; !bytes.Contains(body, []byte(want)) {
					t.Errorf("%s = %q, want it to contain %q", p, body, want)
				}
			}
			s.wantFinal(t, "/root/.npm/_cacache/index-v5/00/11/0011aabbccdd")
		}},
		{"config: ENV and LABEL secrets, ARG in history, USER 0, EXPOSE 22", func(t *testing.T, _ *snapshot, cfg *v1.ConfigFile) {
			wantSecretConfig(t, cfg)
			if !historyHas(cfg, "NPM_TOKEN=npm_0EXAMPLE") {
				t.Errorf("no history entry leaks the ARG NPM_TOKEN: %v", cfg.History)
			}
		}},
	},
	Stripped: {
		{"no history, config secrets kept", func(t *testing.T, _ *snapshot, cfg *v1.ConfigFile) {
			if len(cfg.History) != 0 {
				t.Errorf("history has %d entries, want none", len(cfg.History))
			}
			wantSecretConfig(t, cfg)
		}},
		{"same layers as secrets", func(t *testing.T, s *snapshot, _ *v1.ConfigFile) {
			if wh := s.layersWith("/app/.wh.id_ed25519"); len(wh) != 1 {
				t.Errorf("whiteout of the key in layers %v, want one", wh)
			}
		}},
	},
	Perms: {
		{"file capability in a SCHILY.xattr PAX record", func(t *testing.T, s *snapshot, _ *v1.ConfigFile) {
			e := s.wantFinal(t, "/usr/local/bin/net-helper")
			raw, ok := e.Hdr.PAXRecords["SCHILY.xattr.security.capability"]
			if !ok {
				t.Fatalf("no security.capability xattr; PAX records %v", e.Hdr.PAXRecords)
			}
			if len(raw) < 12 {
				t.Fatalf("capability xattr is %d bytes", len(raw))
			}
			magic := binary.LittleEndian.Uint32([]byte(raw[0:4]))
			permitted := binary.LittleEndian.Uint32([]byte(raw[4:8]))
			want := uint32(1<<capNetRaw | 1<<capNetBindService)
			if magic != vfsCapRevision2|vfsCapFlagsEff || permitted != want {
				t.Errorf("capability xattr magic %#x permitted %#x, want %#x and %#x (cap_net_raw,cap_net_bind_service+ep)",
					magic, permitted, vfsCapRevision2|vfsCapFlagsEff, want)
			}
			if other := s.finalMatching(func(e *fsEntry) bool {
				_, ok := e.Hdr.PAXRecords["SCHILY.xattr.security.capability"]
				return ok && e.Path != "/usr/local/bin/net-helper"
			}); len(other) != 0 {
				t.Errorf("other files with capabilities: %v", paths(other))
			}
		}},
		{"setuid and setgid binaries added", func(t *testing.T, s *snapshot, _ *v1.ConfigFile) {
			if m := s.wantFinal(t, "/usr/local/bin/suid-helper").mode(); m&fs.ModeSetuid == 0 || m&fs.ModeSetgid != 0 {
				t.Errorf("suid-helper mode %v, want setuid only", m)
			}
			if m := s.wantFinal(t, "/usr/local/bin/sgid-helper").mode(); m&fs.ModeSetgid == 0 || m&fs.ModeSetuid != 0 {
				t.Errorf("sgid-helper mode %v, want setgid only", m)
			}
			if m := s.wantFinal(t, "/usr/local/bin/net-helper").mode(); m&(fs.ModeSetuid|fs.ModeSetgid) != 0 {
				t.Errorf("net-helper mode %v, want neither setuid nor setgid", m)
			}
		}},
		{"world-writable directory and file, sticky directory", func(t *testing.T, s *snapshot, _ *v1.ConfigFile) {
			if m := s.wantFinal(t, "/srv/upload").mode(); !m.IsDir() || m.Perm() != 0o777 || m&fs.ModeSticky != 0 {
				t.Errorf("/srv/upload mode %v, want drwxrwxrwx without sticky bit", m)
			}
			if m := s.wantFinal(t, "/srv/shared").mode(); !m.IsDir() || m.Perm() != 0o777 || m&fs.ModeSticky == 0 {
				t.Errorf("/srv/shared mode %v, want drwxrwxrwt", m)
			}
			if m := s.wantFinal(t, "/etc/app.conf").mode(); !m.IsRegular() || m.Perm() != 0o666 {
				t.Errorf("/etc/app.conf mode %v, want -rw-rw-rw-", m)
			}
		}},
		{"opaque whiteout hides the directory's older content", func(t *testing.T, s *snapshot, _ *v1.ConfigFile) {
			old := s.layersWith("/opt/plugins/legacy/plugin.conf")
			opq := s.layersWith("/opt/plugins/.wh..wh..opq")
			if len(old) != 1 || len(opq) != 1 || opq[0] <= old[0] {
				t.Fatalf("old plugin in layers %v, opaque marker in layers %v; want a later opaque marker", old, opq)
			}
			if s.at(opq[0], "/opt/plugins/plugin.conf") == nil {
				t.Errorf("the opaque layer does not re-create /opt/plugins/plugin.conf")
			}
			if wh := s.layersWith("/opt/plugins/.wh.legacy"); len(wh) != 0 {
				t.Errorf("per-file whiteout /opt/plugins/.wh.legacy in layers %v: want the opaque marker only", wh)
			}
			s.wantNotFinal(t, "/opt/plugins/legacy/plugin.conf")
			s.wantNotFinal(t, "/opt/plugins/README")
			s.wantFinal(t, "/opt/plugins/plugin.conf")
		}},
		{"runs as nobody", func(t *testing.T, _ *snapshot, cfg *v1.ConfigFile) {
			if cfg.Config.User != "nobody" {
				t.Errorf("User %q, want nobody", cfg.Config.User)
			}
		}},
	},
	Busybox: {
		{"busybox with applet symlinks on scratch", func(t *testing.T, s *snapshot, _ *v1.ConfigFile) {
			if len(s.layers) != 3 {
				t.Errorf("%d layers, want 3 (busybox, applet links, hardlink)", len(s.layers))
			}
			if !s.wantFinal(t, "/bin/busybox").mode().IsRegular() {
				t.Errorf("/bin/busybox is not a regular file")
			}
			for _, applet := range []string{"sh", "ash", "nc", "wget", "telnet"} {
				e := s.wantFinal(t, "/bin/"+applet)
				if e.Hdr.Typeflag != tar.TypeSymlink || e.Hdr.Linkname != "/bin/busybox" {
					t.Errorf("/bin/%s: type %c link %q, want a symlink to /bin/busybox", applet, e.Hdr.Typeflag, e.Hdr.Linkname)
				}
			}
			s.wantNotFinal(t, "/bin/bash")
			s.wantNotFinal(t, "/etc/passwd")
		}},
		{"hardlink to the multi-call binary", func(t *testing.T, s *snapshot, _ *v1.ConfigFile) {
			ls := s.layersWith("/usr/bin/telnet")
			if len(ls) != 1 {
				t.Fatalf("/usr/bin/telnet in layers %v", ls)
			}
			e := s.at(ls[0], "/usr/bin/telnet")
			if e.Hdr.Typeflag != tar.TypeLink || path.Clean("/"+e.Hdr.Linkname) != "/bin/busybox" {
				t.Errorf("/usr/bin/telnet: type %c link %q, want a hardlink to bin/busybox", e.Hdr.Typeflag, e.Hdr.Linkname)
			}
		}},
		{"root user", func(t *testing.T, _ *snapshot, cfg *v1.ConfigFile) {
			if cfg.Config.User != "" {
				t.Errorf("User %q, want empty (root)", cfg.Config.User)
			}
		}},
	},
	Clean: {
		{"static binary", func(t *testing.T, s *snapshot, _ *v1.ConfigFile) {
			e := s.wantFinal(t, "/usr/local/bin/hello")
			f, err := elf.NewFile(bytes.NewReader(e.Body))
			if err != nil {
				t.Fatalf("hello is not an ELF file: %v", err)
			}
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
					t.Errorf("hello has a %v program header: not static", p.Type)
				}
			}
		}},
		{"non-root user in /etc/passwd", func(t *testing.T, s *snapshot, cfg *v1.ConfigFile) {
			if cfg.Config.User != "65532:65532" {
				t.Errorf("User %q, want 65532:65532", cfg.Config.User)
			}
			if body := s.wantFinal(t, "/etc/passwd").Body; !bytes.Contains(body, []byte("nonroot:x:65532:65532:")) {
				t.Errorf("/etc/passwd = %q", body)
			}
			s.wantFinal(t, "/etc/group")
		}},
		{"CA bundle: certificates, no private key", func(t *testing.T, s *snapshot, _ *v1.ConfigFile) {
			body := s.wantFinal(t, "/etc/ssl/certs/ca-certificates.crt").Body
			if bytes.Count(body, []byte("-----BEGIN CERTIFICATE-----")) < 50 || bytes.Contains(body, []byte("PRIVATE KEY")) {
				t.Errorf("CA bundle: %d certificates, private key %v", bytes.Count(body, []byte("BEGIN CERTIFICATE")), bytes.Contains(body, []byte("PRIVATE KEY")))
			}
		}},
		{"README talks about passwords and tokens", func(t *testing.T, s *snapshot, _ *v1.ConfigFile) {
			body := strings.ToLower(string(s.wantFinal(t, "/usr/share/doc/hello/README.md").Body))
			for _, w := range []string{"password", "token", "access key"} {
				if !strings.Contains(body, w) {
					t.Errorf("README does not mention %q", w)
				}
			}
		}},
		{"nothing planted", func(t *testing.T, s *snapshot, cfg *v1.ConfigFile) {
			bad := s.finalMatching(func(e *fsEntry) bool {
				m := e.mode()
				_, capped := e.Hdr.PAXRecords["SCHILY.xattr.security.capability"]
				return m&(fs.ModeSetuid|fs.ModeSetgid) != 0 || (m.Perm()&0o002 != 0 && m&fs.ModeSymlink == 0) ||
					capped || strings.Contains(path.Base(e.Path), ".wh.") ||
					slices.Contains([]string{"sh", "bash", "busybox", "curl", "wget", "nc"}, path.Base(e.Path))
			})
			if len(bad) != 0 {
				t.Errorf("unexpected entries: %v", paths(bad))
			}
			// buildah gives a scratch image the default PATH; nothing else.
			if len(cfg.Config.Env) != 1 || !strings.HasPrefix(cfg.Config.Env[0], "PATH=") || len(cfg.Config.ExposedPorts) > 0 {
				t.Errorf("Env %v ExposedPorts %v, want PATH only and no port", cfg.Config.Env, cfg.Config.ExposedPorts)
			}
		}},
	},
}

// wantSecretConfig checks the config secrets shared by the secrets and stripped fixtures.
func wantSecretConfig(t *testing.T, cfg *v1.ConfigFile) {
	t.Helper()
	for _, kv := range []string{
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
		"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"GITHUB_TOKEN=ghp_0EXAMPLE0EXAMPLE0EXAMPLE0EXAMPLE0EXA",
		"DB_PASSWORD=not-a-real-password-e2e",
	} {
		if !slices.Contains(cfg.Config.Env, kv) {
			t.Errorf("Env %v lacks %s", cfg.Config.Env, kv)
		}
	}
	if got := cfg.Config.Labels["com.example.ci.token"]; got != "glpat-EXAMPLE0EXAMPLE0EXAM" {
		t.Errorf("label com.example.ci.token = %q", got)
	}
	if cfg.Config.User != "0" {
		t.Errorf("User %q, want 0", cfg.Config.User)
	}
	if _, ok := cfg.Config.ExposedPorts["22/tcp"]; !ok {
		t.Errorf("ExposedPorts %v lacks 22/tcp", cfg.Config.ExposedPorts)
	}
	if cfg.Config.Healthcheck != nil {
		t.Errorf("Healthcheck %v, want none", cfg.Config.Healthcheck)
	}
}

func historyHas(cfg *v1.ConfigFile, s string) bool {
	for _, h := range cfg.History {
		if strings.Contains(h.CreatedBy, s) {
			return true
		}
	}
	return false
}

// fsEntry is one tar entry of a layer (Layer ≥ 0) or of the flattened rootfs (Layer -1).
type fsEntry struct {
	Path  string // absolute, cleaned: "/etc/passwd"
	Layer int
	Hdr   tar.Header
	Body  []byte // regular files up to maxBody bytes
}

const maxBody = 16 << 20

func (e *fsEntry) mode() fs.FileMode { return e.Hdr.FileInfo().Mode() }

type snapshot struct {
	layers [][]*fsEntry
	final  map[string]*fsEntry
}

// inspect reads every layer and the flattened rootfs of img, keeping the bodies of the regular
// files under the given path prefixes.
func inspect(t *testing.T, img v1.Image, keep []string) *snapshot {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	s := &snapshot{final: map[string]*fsEntry{}}
	for i, l := range ls {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatalf("layer %d: %v", i, err)
		}
		var entries []*fsEntry
		err = readTar(rc, i, keep, func(e *fsEntry) { entries = append(entries, e) })
		rc.Close()
		if err != nil {
			t.Fatalf("layer %d: %v", i, err)
		}
		s.layers = append(s.layers, entries)
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	if err := readTar(rc, -1, keep, func(e *fsEntry) { s.final[e.Path] = e }); err != nil {
		t.Fatalf("flattened rootfs: %v", err)
	}
	return s
}

func readTar(r io.Reader, layer int, keep []string, add func(*fsEntry)) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		e := &fsEntry{Path: path.Clean("/" + hdr.Name), Layer: layer, Hdr: *hdr}
		if hdr.Typeflag == tar.TypeReg && hdr.Size <= maxBody && slices.ContainsFunc(keep, func(pre string) bool {
			return strings.HasPrefix(e.Path, pre)
		}) {
			if e.Body, err = io.ReadAll(tr); err != nil {
				return err
			}
		}
		add(e)
	}
}

// at returns the entry for p in layer i, or nil.
func (s *snapshot) at(i int, p string) *fsEntry {
	for _, e := range s.layers[i] {
		if e.Path == p {
			return e
		}
	}
	return nil
}

// layersWith lists the layers that have an entry for p.
func (s *snapshot) layersWith(p string) []int {
	var out []int
	for i := range s.layers {
		if s.at(i, p) != nil {
			out = append(out, i)
		}
	}
	return out
}

func (s *snapshot) wantFinal(t *testing.T, p string) *fsEntry {
	t.Helper()
	e, ok := s.final[p]
	if !ok {
		t.Fatalf("%s is not in the final rootfs", p)
	}
	return e
}

func (s *snapshot) wantNotFinal(t *testing.T, p string) {
	t.Helper()
	if _, ok := s.final[p]; ok {
		t.Errorf("%s is in the final rootfs", p)
	}
}

func (s *snapshot) finalMatching(f func(*fsEntry) bool) []*fsEntry {
	var out []*fsEntry
	for _, e := range s.final {
		if f(e) {
			out = append(out, e)
		}
	}
	return out
}

func paths(es []*fsEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Path)
	}
	slices.Sort(out)
	return out
}

func first(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

func mustDigest(t *testing.T, f func() (v1.Hash, error)) v1.Hash {
	t.Helper()
	h, err := f()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// smallestLayer returns the index of the layer with the smallest blob in a manifest.
func smallestLayer(t *testing.T, img v1.Image) int {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	best := 0
	for i, l := range m.Layers {
		if l.Size < m.Layers[best].Size {
			best = i
		}
	}
	return best
}

// layerDiffID digests the uncompressed content of layer i.
func layerDiffID(t *testing.T, img v1.Image, i int) v1.Hash {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := ls[i].Uncompressed()
	if err != nil {
		t.Fatalf("layer %d: %v", i, err)
	}
	defer rc.Close()
	h, _, err := v1.SHA256(rc)
	if err != nil {
		t.Fatalf("layer %d: %v", i, err)
	}
	return h
}

func diffIDs(t *testing.T, img v1.Image) []v1.Hash {
	t.Helper()
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cfg.RootFS.DiffIDs
}
