//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestScanGolden scans every fixture through every input form with --format json --fail-on
// none. Each run must exit 0 with nothing on stderr, print a report that matches
// docs/report.schema.json and describes the image that was asked for (reference, config
// digest, manifest digest, layers, history), and equal testdata/e2e/<fixture>.golden.json
// once the values that change between builds are normalised. -update rewrites the golden file
// from the docker-archive scan; review its diff before committing it.
func TestScanGolden(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			im := Fixture(t, name)
			facts := expectedImage(t, im)
			golden := goldenPath(t, name)
			for _, tr := range Transports {
				t.Run(string(tr), func(t *testing.T) {
					r := scanJSON(t, im, tr)
					if r.code != 0 || len(r.stderr) != 0 {
						t.Fatalf("%v; want exit 0 (--fail-on none) and an empty stderr", r)
					}
					validate(t, "docs/report.schema.json", r.stdout)
					facts.check(t, tr, parseReport(t, r.stdout))
					got := normalize(t, r.stdout, acrossBuilds)
					if *update && tr == Transports[0] {
						if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
							t.Fatal(err)
						}
						if err := os.WriteFile(golden, got, 0o644); err != nil {
							t.Fatal(err)
						}
						t.Logf("wrote %s", golden)
					}
					wantJSON, err := os.ReadFile(golden)
					if err != nil {
						t.Fatalf("%v (write it with: go test -tags e2e ./e2e -run TestScanGolden -update)", err)
					}
					if d := diff(golden, wantJSON, im.Ref(tr), got); d != "" {
						t.Errorf("normalised report differs from the golden file (if the change is right, rewrite it with -update and review the diff):\n%s", d)
					}
				})
			}
		})
	}
}

// imageFacts is what a report must say about a fixture, read with go-containerregistry from
// the OCI layout (config and manifest only, no layer).
type imageFacts struct {
	im         *Image
	manifest   string
	platform   string
	user       string
	diffIDs    []v1.Hash
	ociBlobs   []v1.Hash // layer digests in the OCI manifest (registry, oci, oci-archive)
	historyFor []string  // createdBy of each layer, from the non-empty history entries
}

func expectedImage(t *testing.T, im *Image) *imageFacts {
	t.Helper()
	img := im.Open(t, OCILayout)
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	f := &imageFacts{im: im, manifest: mustDigest(t, img.Digest).String(), user: cfg.Config.User,
		platform: cfg.OS + "/" + cfg.Architecture, diffIDs: cfg.RootFS.DiffIDs}
	if cfg.Variant != "" {
		f.platform += "/" + cfg.Variant
	}
	for _, l := range m.Layers {
		f.ociBlobs = append(f.ociBlobs, l.Digest)
	}
	for _, h := range cfg.History {
		if !h.EmptyLayer {
			f.historyFor = append(f.historyFor, h.CreatedBy)
		}
	}
	if len(cfg.History) == 0 {
		f.historyFor = make([]string, len(f.diffIDs))
	}
	if len(f.historyFor) != len(f.diffIDs) {
		t.Fatalf("%d non-empty history entries for %d layers", len(f.historyFor), len(f.diffIDs))
	}
	return f
}

// check compares the image, layers and summary of a report with the facts. History lines are
// compared trimmed (the engine trims them; buildah ends COPY lines with a space) and with the
// fixture's planted secrets masked the way the engine masks them, so this checks that
// layers[].createdBy is the right history entry, not how it is redacted.
func (f *imageFacts) check(t *testing.T, tr Transport, r *report) {
	t.Helper()
	if r.Tool.Name != "imgharden" || r.Tool.Version != binVersion {
		t.Errorf("tool %q %q, want imgharden %s", r.Tool.Name, r.Tool.Version, binVersion)
	}
	img := r.Image
	wantDigest := f.manifest
	if tr == DockerArchive || tr == Daemon {
		wantDigest = "" // a docker-archive has no manifest of its own
	}
	if img.Ref != f.im.Ref(tr) || img.ID != f.im.ID || img.Digest != wantDigest || img.Platform != f.platform || img.User != f.user {
		t.Errorf("image %+v, want ref %q id %s digest %q platform %s user %q", img, f.im.Ref(tr), f.im.ID, wantDigest, f.platform, f.user)
	}
	if len(r.Layers) != len(f.diffIDs) {
		t.Fatalf("%d layers, want %d", len(r.Layers), len(f.diffIDs))
	}
	for i, l := range r.Layers {
		wantBlob := f.diffIDs[i].String() // uncompressed tars: the blob digest is the diffID
		if tr != DockerArchive && tr != Daemon {
			wantBlob = f.ociBlobs[i].String()
		}
		if l.Index != i || l.DiffID != f.diffIDs[i].String() || l.Digest != wantBlob {
			t.Errorf("layer %d: index %d digest %s diffID %s, want digest %s diffID %s", i, l.Index, l.Digest, l.DiffID, wantBlob, f.diffIDs[i])
		}
		if want := maskPlanted(strings.TrimSpace(f.historyFor[i])); l.CreatedBy != want {
			t.Errorf("layer %d createdBy\n got %q\nwant %q", i, l.CreatedBy, want)
		}
	}
	counts := map[string]int{}
	for _, fd := range r.Findings {
		counts[fd.Severity]++
	}
	for _, sev := range []string{"critical", "high", "medium", "low", "info"} {
		if r.Summary[sev] != counts[sev] {
			t.Errorf("summary.%s = %d, the findings have %d", sev, r.Summary[sev], counts[sev])
		}
	}
	if r.Summary["total"] != len(r.Findings) || r.Summary["suppressed"] != 0 {
		t.Errorf("summary total %d suppressed %d, want %d and 0", r.Summary["total"], r.Summary["suppressed"], len(r.Findings))
	}
}

// plantedSecrets are the whole secret values the fixtures plant (testdata/images/secrets and
// perms); no output of imgharden may contain one of them.
var plantedSecrets = []string{
	"AKIAIOSFODNN7EXAMPLE",
	"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	"ghp_0EXAMPLE0EXAMPLE0EXAMPLE0EXAMPLE0EXA",
	"glpat-EXAMPLE0EXAMPLE0EXAM",
	"npm_0EXAMPLEnpmtoken0EXAMPLEnpmtoken0EXA",
	"not-a-real-password-e2e",
	"not-a-real-plugin-password-e2e",
}

// maskPlanted masks the planted secrets as the engine's redaction does: the first and last
// four characters kept, the rest replaced by 16 asterisks (15 for a value of 23 characters).
func maskPlanted(s string) string {
	for _, v := range plantedSecrets {
		stars := 16
		if len(v)-8 < stars {
			stars = len(v) - 8
		}
		s = strings.ReplaceAll(s, v, v[:4]+strings.Repeat("*", stars)+v[len(v)-4:])
	}
	return s
}

// privateKeyLines returns the base64 lines of the two private keys the secrets fixture plants.
func privateKeyLines() []string {
	var out []string
	for _, pemKey := range [][]byte{OpenSSHPrivateKey("secrets/id_ed25519", "deploy@ci"), PKCS8PrivateKeyPEM("secrets/tls")} {
		for _, line := range strings.Split(string(pemKey), "\n") {
			if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
				out = append(out, line)
			}
		}
	}
	return out
}

// TestScanFormsAgree: the same image through every input form gives the same report, except
// for what differs between the forms themselves (reference, manifest digest, layer blob
// digests). Image ID, diff IDs, history lines and every finding are compared as printed.
func TestScanFormsAgree(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			im := Fixture(t, name)
			base := scanJSON(t, im, Transports[0])
			want := normalize(t, base.stdout, acrossForms)
			for _, tr := range Transports[1:] {
				t.Run(string(tr), func(t *testing.T) {
					got := normalize(t, scanJSON(t, im, tr).stdout, acrossForms)
					if d := diff(string(Transports[0]), want, string(tr), got); d != "" {
						t.Errorf("the %s scan differs from the %s scan of the same image:\n%s", tr, Transports[0], d)
					}
				})
			}
		})
	}
}

// where matches a finding's location: a path, "env NAME", "label KEY" or "config".
func (f jfinding) at(where string) bool {
	l := f.Location
	switch {
	case strings.HasPrefix(where, "env "):
		return l.Env == strings.TrimPrefix(where, "env ")
	case strings.HasPrefix(where, "label "):
		return l.Label == strings.TrimPrefix(where, "label ")
	case where == "config":
		return l.Path == "" && l.Env == "" && l.Label == "" && l.LayerIndex == -1
	}
	return l.Path == where
}

// all returns the findings of rule at where.
func (r *report) all(rule, where string) []jfinding {
	var out []jfinding
	for _, f := range r.Findings {
		if f.RuleID == rule && f.at(where) {
			out = append(out, f)
		}
	}
	return out
}

// one returns the only finding of rule at where, failing the test if there is not exactly one.
func (r *report) one(t *testing.T, rule, where string) jfinding {
	t.Helper()
	fs := r.all(rule, where)
	if len(fs) != 1 {
		t.Fatalf("%d %s findings at %s, want 1: %v\nall findings at %s: %v", len(fs), rule, where, fs, where, r.anyAt(where))
	}
	return fs[0]
}

// none fails the test if a finding of rule (any rule if "") is at where.
func (r *report) none(t *testing.T, rule, where string) {
	t.Helper()
	for _, f := range r.Findings {
		if (rule == "" || f.RuleID == rule) && f.at(where) {
			t.Errorf("unexpected finding: %v", f)
		}
	}
}

func (r *report) anyAt(where string) []jfinding {
	var out []jfinding
	for _, f := range r.Findings {
		if f.at(where) {
			out = append(out, f)
		}
	}
	return out
}

// layerWith returns the index of the only layer whose history line contains every part.
func (r *report) layerWith(t *testing.T, parts ...string) int {
	t.Helper()
	found := -1
	for i, l := range r.Layers {
		if slices.IndexFunc(parts, func(p string) bool { return !strings.Contains(l.CreatedBy, p) }) < 0 {
			if found >= 0 {
				t.Fatalf("layers %d and %d both have %q in their history line", found, i, parts)
			}
			found = i
		}
	}
	if found < 0 {
		t.Fatalf("no layer has %q in its history line", parts)
	}
	return found
}

// inLayer checks that f is located in layer i, carrying that layer's history line, and its
// removed flag.
func (r *report) inLayer(t *testing.T, f jfinding, i int, removed bool) {
	t.Helper()
	if f.Location.LayerIndex != i || f.Location.CreatedBy != r.Layers[i].CreatedBy || f.Location.Removed != removed {
		t.Errorf("%v: layer %d createdBy %q removed %v, want layer %d (%q) removed %v", f, f.Location.LayerIndex,
			f.Location.CreatedBy, f.Location.Removed, i, r.Layers[i].CreatedBy, removed)
	}
}

// want checks that s contains every part.
func want(t *testing.T, what, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%s %q does not contain %q", what, s, p)
		}
	}
}

// TestScanPlants checks, beyond golden equality, that each problem a fixture plants is
// reported where it was planted (testdata/images/README.md), and that the negative cases are
// not. It reads the docker-archive scans; TestScanFormsAgree shows the other forms agree.
func TestScanPlants(t *testing.T) {
	configSecrets := func(t *testing.T, r *report) {
		for _, tc := range []struct{ rule, env, evidence string }{
			{"IH2011", "AWS_ACCESS_KEY_ID", "AKIA************MPLE"},
			{"IH2010", "AWS_SECRET_ACCESS_KEY", "wJal****************EKEY"},
			{"IH2011", "GITHUB_TOKEN", "ghp_****************0EXA"},
			{"IH2010", "DB_PASSWORD", "not-***************-e2e"},
		} {
			f := r.one(t, tc.rule, "env "+tc.env)
			if f.Location.Env != tc.env || f.Location.LayerIndex != -1 || f.Severity != "high" || f.Evidence != tc.evidence {
				t.Errorf("%v: want env %s, layer -1, high, evidence %s", f, tc.env, tc.evidence)
			}
			want(t, "message", f.Message, tc.env)
		}
		if f := r.one(t, "IH2013", "label com.example.ci.token"); f.Evidence != "glpa****************EXAM" {
			t.Errorf("label finding %v", f)
		}
		want(t, "root-user message", r.one(t, "IH2001", "config").Message, "USER 0")
		r.one(t, "IH2003", "config") // EXPOSE 22
	}
	fileSecrets := func(t *testing.T, r *report) {
		copyApp := r.layerWith(t, "COPY dir:", " in /app/")
		rmKey := r.layerWith(t, "rm /app/id_ed25519")
		if rmKey <= copyApp {
			t.Fatalf("the key is deleted in layer %d, copied in layer %d", rmKey, copyApp)
		}
		// The private key added by COPY and deleted by the next layer is still in the image.
		key := r.one(t, "IH4001", "/app/id_ed25519")
		r.inLayer(t, key, copyApp, true)
		want(t, "evidence", key.Evidence, "BEGIN OPENSSH PRIVATE KEY")
		r.inLayer(t, r.one(t, "IH4001", "/app/tls/server.key"), copyApp, false)
		// The AWS credentials written in one layer and overwritten by the next.
		written := r.layerWith(t, "mkdir -p /root/.aws", "> /root/.aws/credentials")
		overwritten := r.layerWith(t, "region = us-east-1", "> /root/.aws/credentials")
		cred := r.one(t, "IH4020", "/root/.aws/credentials")
		r.inLayer(t, cred, written, true)
		if cred.Severity != "critical" || cred.Evidence != "wJal****************EKEY" || overwritten <= written {
			t.Errorf("%v; overwritten in layer %d", cred, overwritten)
		}
		for _, f := range r.anyAt("/root/.aws/credentials") {
			if !f.Location.Removed {
				t.Errorf("the final, harmless credentials file is reported: %v", f)
			}
		}
		r.one(t, "IH4030", "/app/.env")
		r.one(t, "IH4004", "/app/.env")
		r.one(t, "IH1010", "/app/.env")
		r.one(t, "IH4030", "/app/config/database.yml")
		r.one(t, "IH4021", "/root/.npmrc")
		r.one(t, "IH4024", "/root/.git-credentials")
		r.one(t, "IH1007", "/app/.git")
		r.one(t, "IH1009", "/app/Dockerfile")
		r.one(t, "IH1008", "/root/.cache/pip")
		r.one(t, "IH1008", "/root/.npm")
	}
	tests := map[string]func(t *testing.T, r *report){
		Secrets: func(t *testing.T, r *report) {
			configSecrets(t, r)
			fileSecrets(t, r)
			// The ARG value buildah records before every RUN, reported once at its first layer
			// (history findings have no path).
			npm := r.all("IH2012", "")
			first := r.layerWith(t, "NPM_TOKEN=npm_", "rm /app/id_ed25519")
			if i := slices.IndexFunc(npm, func(f jfinding) bool { return strings.HasPrefix(f.Evidence, "npm_") }); i < 0 {
				t.Errorf("no history finding for the ARG NPM_TOKEN: %v", npm)
			} else {
				r.inLayer(t, npm[i], first, false)
			}
		},
		Stripped: func(t *testing.T, r *report) {
			configSecrets(t, r)
			// Without history the file findings stay, in the same layers, with no createdBy.
			key := r.one(t, "IH4001", "/app/id_ed25519")
			if !key.Location.Removed || key.Location.LayerIndex != 1 || key.Location.CreatedBy != "" {
				t.Errorf("%v: want layer 1, removed, no createdBy", key)
			}
			for _, f := range r.Findings {
				if f.RuleID == "IH2012" || f.Location.CreatedBy != "" {
					t.Errorf("history finding or createdBy in an image without history: %v", f)
				}
			}
		},
		Perms: func(t *testing.T, r *report) {
			capf := r.one(t, "IH1002", "/usr/local/bin/net-helper")
			if capf.Evidence != "cap_net_bind_service,cap_net_raw+ep" || capf.Details["capabilities"] != capf.Evidence {
				t.Errorf("capability finding %v details %v, want cap_net_bind_service,cap_net_raw+ep decoded", capf, capf.Details)
			}
			r.none(t, "IH1001", "/usr/local/bin/net-helper")
			suid := r.one(t, "IH1001", "/usr/local/bin/suid-helper")
			want(t, "setuid message", suid.Message, "is setuid", "new in this image")
			r.inLayer(t, suid, r.layerWith(t, "chmod 4755 /usr/local/bin/suid-helper"), false)
			sgid := r.one(t, "IH1001", "/usr/local/bin/sgid-helper")
			want(t, "setgid message", sgid.Message, "is setgid", "new in this image")
			want(t, "setgid evidence", sgid.Evidence, "mode=2755")
			want(t, "inherited setuid message", r.one(t, "IH1001", "/usr/bin/passwd").Message, "inherited from the base image")
			r.inLayer(t, r.one(t, "IH1011", "/srv/upload"), r.layerWith(t, "chmod 0777 /srv/upload"), false)
			r.one(t, "IH1011", "/etc/app.conf")
			r.none(t, "IH1011", "/srv/shared") // sticky: fine
			r.none(t, "IH1011", "/tmp")
			// The directory the opaque whiteout removed: its password is still in a layer.
			legacy := r.one(t, "IH4030", "/opt/plugins/legacy/plugin.conf")
			r.inLayer(t, legacy, r.layerWith(t, "mkdir -p /opt/plugins/legacy"), true)
			r.none(t, "", "/opt/plugins/plugin.conf")
			r.none(t, "IH2001", "config") // USER nobody
		},
		Busybox: func(t *testing.T, r *report) {
			links := r.layerWith(t, "--install")
			for _, tc := range []struct{ rule, path, via string }{
				{"IH1003", "/bin/sh", "symlink -> /bin/busybox"},
				{"IH1003", "/bin/ash", "symlink -> /bin/busybox"},
				{"IH1004", "/bin/nc", "symlink -> /bin/busybox"},
				{"IH1004", "/bin/wget", "symlink -> /bin/busybox"},
				{"IH1004", "/usr/bin/telnet", "hardlink to /bin/busybox"},
			} {
				f := r.one(t, tc.rule, tc.path)
				want(t, "evidence", f.Evidence, tc.via, "multi-call")
				if tc.via[0] == 's' {
					r.inLayer(t, f, links, false)
				}
			}
			r.one(t, "IH2001", "config")
		},
		FatBuilder: func(t *testing.T, r *report) {
			install := r.layerWith(t, "apt-get install")
			for _, tc := range []struct{ rule, path string }{
				{"IH1006", "/usr/bin/gcc"}, {"IH1006", "/usr/bin/make"}, {"IH1006", "/usr/bin/g++"},
				{"IH1004", "/usr/bin/curl"}, {"IH1004", "/usr/bin/wget"}, {"IH1004", "/usr/bin/nc"},
				{"IH1005", "/usr/bin/pip3"}, {"IH1008", "/var/cache/apt/archives"},
			} {
				r.inLayer(t, r.one(t, tc.rule, tc.path), install, false)
			}
			r.inLayer(t, r.one(t, "IH1008", "/var/lib/apt/lists"), r.layerWith(t, "apt-get update"), false)
			r.one(t, "IH1005", "/usr/bin/apt-get")
			r.one(t, "IH1005", "/usr/bin/dpkg")
			r.one(t, "IH1003", "/usr/bin/bash")
			r.one(t, "IH2001", "config")
			r.one(t, "IH2002", "config")
		},
		Clean: func(t *testing.T, r *report) {
			if bad := r.atOrAbove("medium"); len(bad) != 0 {
				t.Errorf("the clean image has findings of medium or above: %v", bad)
			}
			r.one(t, "IH2002", "config") // no HEALTHCHECK (buildah drops it from OCI images)
		},
	}
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			check, ok := tests[name]
			if !ok {
				t.Fatalf("no plant checks for fixture %s", name)
			}
			im := Fixture(t, name)
			check(t, parseReport(t, scanJSON(t, im, DockerArchive).stdout))
		})
	}
}

// TestScanGate checks --fail-on: exit 1 when a finding is at or above the threshold (the report
// is still printed, identical to the --fail-on none one, and stderr stays empty), else 0.
// --fail-on none exits 0 on every fixture and form (TestScanGolden).
func TestScanGate(t *testing.T) {
	tests := []struct {
		fixture, failOn string
		want            int
	}{
		{Clean, "medium", 0}, // the bar for a clean image
		{Clean, "low", 0},
		{Clean, "info", 1}, // no HEALTHCHECK
		{FatBuilder, "high", 1},
		{FatBuilder, "critical", 0},
		{Secrets, "high", 1},
		{Secrets, "critical", 1}, // private keys, AWS secret key
		{Perms, "high", 1},
		{Perms, "critical", 0},
		{Busybox, "high", 1},
		{Busybox, "critical", 0},
		{Stripped, "high", 1},
	}
	for _, tt := range tests {
		t.Run(tt.fixture+"/"+tt.failOn, func(t *testing.T) {
			im := Fixture(t, tt.fixture)
			none := scanJSON(t, im, DockerArchive)
			r := runCLI(t, "scan", "--format", "json", "--fail-on", tt.failOn, im.Ref(DockerArchive))
			if r.code != tt.want || len(r.stderr) != 0 {
				t.Errorf("%v; want exit %d and an empty stderr", r, tt.want)
			}
			above := parseReport(t, none.stdout).atOrAbove(tt.failOn)
			if (len(above) > 0) != (tt.want == 1) {
				t.Errorf("findings at or above %s: %v; the table expects exit %d", tt.failOn, above, tt.want)
			}
			if !bytes.Equal(r.stdout, none.stdout) {
				t.Errorf("the report differs from the --fail-on none report:\n%s", diff("--fail-on none", none.stdout, "--fail-on "+tt.failOn, r.stdout))
			}
		})
	}
}

// TestScanUsageErrors: a bad command line exits 2 with one line on stderr, before any image is
// read.
func TestScanUsageErrors(t *testing.T) {
	ref := Fixture(t, Clean).Ref(DockerArchive)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"scan", "--no-such-flag", ref}, "unknown flag: --no-such-flag"},
		{"bad --fail-on", []string{"scan", "--fail-on", "severe", ref}, `--fail-on: unknown severity "severe"`},
		{"bad --format", []string{"scan", "--format", "yaml", ref}, `unknown --format "yaml"`},
		{"bad --output", []string{"scan", "-o", "sarif", ref}, `--output "sarif": want FORMAT=PATH`},
		{"bad --platform", []string{"scan", "--platform", "amd64", ref}, "amd64"},
		{"no image", []string{"scan"}, "accepts 1 arg(s), received 0"},
		{"two images", []string{"scan", ref, ref}, "accepts 1 arg(s), received 2"},
		{"unknown transport", []string{"scan", "containers-storage:x"}, `transport "containers-storage" is not supported`},
		{"malformed registry reference", []string{"scan", "Registry.Example/UPPER:tag"}, "bad image reference: Registry.Example/UPPER:tag"},
		{"docker-archive without a path", []string{"scan", "docker-archive:"}, "docker-archive:: missing path"},
		{"docker-daemon without a name", []string{"scan", "docker-daemon:"}, "bad image reference: docker-daemon:"},
		{"@N outside docker-archive", []string{"scan", "oci-archive:x.tar:@1"}, "@N selects an image only in docker-archive"},
		{"unknown command", []string{"scna", ref}, `unknown command "scna"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.args...)
			if r.code != 2 {
				t.Errorf("%v; want exit 2", r)
			}
			want(t, "stderr", oneLineError(t, r), tt.want)
		})
	}
}

// TestScanRuntimeErrors: an image that cannot be read exits 3 with one line on stderr naming the
// image, and the layer digest where a layer is at fault; stdout stays empty.
func TestScanRuntimeErrors(t *testing.T) {
	clean := Fixture(t, Clean)
	busybox := Fixture(t, Busybox)
	tests := []struct {
		name string
		ref  func(t *testing.T) (ref string, want []string)
	}{
		{"missing docker-archive", func(t *testing.T) (string, []string) {
			return "docker-archive:" + filepath.Join(t.TempDir(), "missing.tar"), []string{"no such file or directory"}
		}},
		{"missing oci-archive", func(t *testing.T) (string, []string) {
			return "oci-archive:" + filepath.Join(t.TempDir(), "missing.tar"), []string{"no such file or directory"}
		}},
		{"missing OCI layout", func(t *testing.T) (string, []string) {
			return "oci:" + filepath.Join(t.TempDir(), "missing") + ":latest", []string{"not a directory"}
		}},
		{"truncated docker-archive", func(t *testing.T) (string, []string) {
			p := copyFile(t, busybox.DockerArchivePath)
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(p, fi.Size()/2); err != nil {
				t.Fatal(err)
			}
			return "docker-archive:" + p, []string{"unexpected EOF"}
		}},
		{"docker-archive layer altered", func(t *testing.T) (string, []string) {
			p := copyFile(t, clean.DockerArchivePath)
			member := flipInLargestMember(t, p)
			digest := "sha256:" + strings.TrimSuffix(filepath.Base(member), ".tar")
			return "docker-archive:" + p, []string{digest, "digest mismatch"}
		}},
		{"OCI layout blob with a changed gzip header", func(t *testing.T) (string, []string) {
			dir, blob := layoutCopy(t, clean)
			b := readFile(t, blob)
			b[9] ^= 0x01 // OS byte: the blob still decompresses to the right tar
			writeBack(t, blob, b)
			return "oci:" + dir + ":latest", []string{"sha256:" + filepath.Base(blob), "digest mismatch"}
		}},
		{"OCI layout blob with a flipped byte", func(t *testing.T) (string, []string) {
			dir, blob := layoutCopy(t, clean)
			b := readFile(t, blob)
			b[len(b)/2] ^= 0xff
			writeBack(t, blob, b)
			return "oci:" + dir + ":latest", []string{"sha256:" + filepath.Base(blob)}
		}},
		{"OCI layout blob missing", func(t *testing.T) (string, []string) {
			dir, blob := layoutCopy(t, clean)
			if err := os.Remove(blob); err != nil {
				t.Fatal(err)
			}
			return "oci:" + dir + ":latest", []string{"sha256:" + filepath.Base(blob)}
		}},
		{"registry port with nothing listening", func(t *testing.T) (string, []string) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := l.Addr().String()
			l.Close()
			return addr + "/imgharden-e2e/clean:latest", []string{"registry " + addr, "connection refused"}
		}},
		{"image not in the registry", func(t *testing.T) (string, []string) {
			reg := strings.SplitN(clean.RegistryRef, "/", 2)[0]
			return reg + "/imgharden-e2e/no-such-image:latest", []string{"registry " + reg, "manifest unknown"}
		}},
		{"image not in the daemon", func(t *testing.T) (string, []string) {
			return "docker-daemon:localhost/imgharden-e2e/no-such-image:latest", []string{"image not known"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, wantParts := tt.ref(t)
			r := runCLI(t, "scan", "--fail-on", "none", ref)
			if r.code != 3 {
				t.Errorf("%v; want exit 3", r)
			}
			msg := oneLineError(t, r)
			want(t, "stderr", msg, append([]string{"imgharden: " + ref + ": "}, wantParts...)...)
		})
	}
}

func copyFile(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	writeBack(t, dst, readFile(t, src))
	return dst
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeBack(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// countingReader counts the bytes a tar.Reader consumed: after Next, the offset of the
// entry's data.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// flipInLargestMember inverts one byte in the middle of the largest regular member of the
// archive at p (a layer tar) and returns the member's name.
func flipInLargestMember(t *testing.T, p string) string {
	t.Helper()
	b := readFile(t, p)
	cr := &countingReader{r: bytes.NewReader(b)}
	tr := tar.NewReader(cr)
	var name string
	var off, size int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg && strings.HasSuffix(h.Name, ".tar") && h.Size > size {
			name, off, size = h.Name, cr.n, h.Size
		}
	}
	if name == "" {
		t.Fatalf("%s has no layer member", p)
	}
	b[off+size/2] ^= 0xff
	writeBack(t, p, b)
	return name
}

// layoutCopy copies the fixture's OCI layout to a temporary directory and returns it with the
// path of its largest layer blob.
func layoutCopy(t *testing.T, im *Image) (dir, blob string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "oci")
	if err := os.CopyFS(dir, os.DirFS(im.OCILayoutDir)); err != nil {
		t.Fatal(err)
	}
	m, err := im.Open(t, OCILayout).Manifest()
	if err != nil {
		t.Fatal(err)
	}
	var big v1.Descriptor
	for _, l := range m.Layers {
		if l.Size > big.Size {
			big = l
		}
	}
	return dir, filepath.Join(dir, "blobs", big.Digest.Algorithm, big.Digest.Hex)
}

// formats is a scan of one fixture's docker-archive writing text on stdout and JSON and SARIF
// through --output, run once per process.
type formats struct {
	once              sync.Once
	res               *result
	text, json, sarif []byte
}

var (
	formatsMu   sync.Mutex
	formatsRuns = map[string]*formats{}
)

func scanFormats(t *testing.T, im *Image) *formats {
	t.Helper()
	formatsMu.Lock()
	f, ok := formatsRuns[im.Name]
	if !ok {
		f = &formats{}
		formatsRuns[im.Name] = f
	}
	formatsMu.Unlock()
	f.once.Do(func() {
		dir := t.TempDir()
		jp, sp := filepath.Join(dir, "report.json"), filepath.Join(dir, "report.sarif")
		r := runCLI(t, "scan", "--fail-on", "none", "-o", "json="+jp, "-o", "sarif="+sp, im.Ref(DockerArchive))
		if r.code != 0 || len(r.stderr) != 0 {
			t.Fatalf("%v; want exit 0 and an empty stderr", r)
		}
		f.res, f.text, f.json, f.sarif = r, r.stdout, readFile(t, jp), readFile(t, sp)
	})
	if f.res == nil {
		t.Fatalf("the formats scan of %s did not run (an earlier attempt failed)", im.Name)
	}
	return f
}

var textSummary = regexp.MustCompile(`(?m)^(\d+) findings?: (\d+) critical, (\d+) high, (\d+) medium, (\d+) low, (\d+) info\n\z`)

// TestScanReportFormats writes text (stdout), JSON and SARIF (--output) in one scan of the
// secrets fixture. The JSON file equals the --format json stdout; the SARIF log validates
// against the SARIF 2.1.0 schema the report package vendors and holds the same findings, with
// the same fingerprints and layer properties; the text report lists every finding and ends
// with the summary line.
func TestScanReportFormats(t *testing.T) {
	im := Fixture(t, Secrets)
	f := scanFormats(t, im)
	ref := scanJSON(t, im, DockerArchive)
	if !bytes.Equal(f.json, ref.stdout) {
		t.Errorf("--output json differs from --format json:\n%s", diff("--format json", ref.stdout, "--output json", f.json))
	}
	rep := parseReport(t, ref.stdout)

	t.Run("sarif", func(t *testing.T) {
		validate(t, "pkg/report/testdata/sarif-schema-2.1.0.json", f.sarif)
		var log struct {
			Version string `json:"version"`
			Runs    []struct {
				Tool struct {
					Driver struct {
						Name, Version string
						Rules         []struct {
							ID      string `json:"id"`
							HelpURI string `json:"helpUri"`
						} `json:"rules"`
					} `json:"driver"`
				} `json:"tool"`
				Results []struct {
					RuleID       string `json:"ruleId"`
					RuleIndex    int    `json:"ruleIndex"`
					Message      struct{ Text string }
					Fingerprints map[string]string `json:"partialFingerprints"`
					Locations    []struct {
						PhysicalLocation struct {
							ArtifactLocation struct{ URI string } `json:"artifactLocation"`
						} `json:"physicalLocation"`
					} `json:"locations"`
					Properties struct {
						Severity    string `json:"severity"`
						Path        string `json:"path"`
						Env         string `json:"env"`
						LayerIndex  int    `json:"layerIndex"`
						LayerDigest string `json:"layerDigest"`
						CreatedBy   string `json:"createdBy"`
						Removed     bool   `json:"removed"`
						Evidence    string `json:"evidence"`
					} `json:"properties"`
				} `json:"results"`
			} `json:"runs"`
		}
		if err := json.Unmarshal(f.sarif, &log); err != nil {
			t.Fatal(err)
		}
		if log.Version != "2.1.0" || len(log.Runs) != 1 {
			t.Fatalf("version %q, %d runs", log.Version, len(log.Runs))
		}
		run := log.Runs[0]
		if run.Tool.Driver.Name != "imgharden" || run.Tool.Driver.Version != binVersion {
			t.Errorf("driver %s %s", run.Tool.Driver.Name, run.Tool.Driver.Version)
		}
		if len(run.Results) != len(rep.Findings) {
			t.Fatalf("%d SARIF results, %d JSON findings", len(run.Results), len(rep.Findings))
		}
		for i, res := range run.Results {
			fd := rep.Findings[i]
			p := res.Properties
			if res.RuleID != fd.RuleID || res.Message.Text != fd.Message || res.Fingerprints["imgharden/v1"] != fd.Fingerprint ||
				p.Severity != fd.Severity || p.Path != fd.Location.Path || p.Env != fd.Location.Env ||
				p.LayerIndex != fd.Location.LayerIndex || p.LayerDigest != fd.Location.LayerDigest ||
				p.CreatedBy != fd.Location.CreatedBy || p.Removed != fd.Location.Removed || p.Evidence != fd.Evidence {
				t.Errorf("SARIF result %d %+v\ndoes not carry JSON finding %v (fingerprint %s, layer %s)", i, res, fd, fd.Fingerprint, fd.Location.LayerDigest)
			}
			if res.RuleIndex < 0 || res.RuleIndex >= len(run.Tool.Driver.Rules) || run.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID ||
				!strings.HasSuffix(run.Tool.Driver.Rules[res.RuleIndex].HelpURI, "/docs/rules/"+res.RuleID+".md") {
				t.Errorf("result %d (%s): ruleIndex %d does not point at its rule with a helpUri", i, res.RuleID, res.RuleIndex)
			}
			if fd.Location.Path != "" && (len(res.Locations) == 0 || res.Locations[0].PhysicalLocation.ArtifactLocation.URI != strings.TrimPrefix(fd.Location.Path, "/")) {
				t.Errorf("result %d (%s %s): locations %+v, want the path inside the image", i, res.RuleID, fd.Location.Path, res.Locations)
			}
		}
	})

	t.Run("text", func(t *testing.T) {
		text := string(f.text)
		if strings.Contains(text, "\x1b[") {
			t.Error("colour escapes in a report written to a pipe")
		}
		if !strings.HasPrefix(text, im.Ref(DockerArchive)+" ·") {
			t.Errorf("text report starts %q, want the image reference", first(f.text, 120))
		}
		m := textSummary.FindStringSubmatch(text)
		s := rep.Summary
		if want := fmt.Sprintf("%d findings: %d critical, %d high, %d medium, %d low, %d info\n",
			s["total"], s["critical"], s["high"], s["medium"], s["low"], s["info"]); m == nil || m[0] != want {
			t.Errorf("text report does not end with %q:\n%s", want, text[max(0, len(text)-300):])
		}
		removed := 0
		for _, fd := range rep.Findings {
			var where string
			switch l := fd.Location; {
			case l.Env != "":
				where = "ENV " + l.Env
			case l.Label != "":
				where = "LABEL " + l.Label
			case l.Path == "":
				where = "image config"
			case l.Line > 0:
				where = fmt.Sprint(l.Path, ":", l.Line)
			default:
				where = l.Path
			}
			if !strings.Contains(text, fd.RuleID+"  "+where+"  "+fd.Message+"\n") {
				t.Errorf("text report has no line for %v", fd)
			}
			if fd.Location.Removed {
				removed++
			}
		}
		if n := strings.Count(text, "(removed in a later layer)"); n != removed || removed == 0 {
			t.Errorf("%d removed markers, %d removed findings", n, removed)
		}
	})
}

// TestScanNoSecretInOutput: no output of any scan of the fixtures that plant secrets (every
// input form's JSON, the text and SARIF reports, stderr) contains a whole planted secret
// value or a line of a planted private key. Evidence, messages, and history lines are masked.
func TestScanNoSecretInOutput(t *testing.T) {
	needles := append(slices.Clone(plantedSecrets), privateKeyLines()...)
	if len(needles) < len(plantedSecrets)+4 {
		t.Fatalf("only %d private key lines found", len(needles)-len(plantedSecrets))
	}
	for _, name := range []string{Secrets, Stripped, Perms} {
		t.Run(name, func(t *testing.T) {
			im := Fixture(t, name)
			outputs := map[string][]byte{}
			for _, tr := range Transports {
				r := scanJSON(t, im, tr)
				outputs[string(tr)+" json"], outputs[string(tr)+" stderr"] = r.stdout, r.stderr
			}
			f := scanFormats(t, im)
			outputs["text"], outputs["sarif"], outputs["json file"], outputs["formats stderr"] = f.text, f.sarif, f.json, f.res.stderr
			for what, out := range outputs {
				for _, s := range needles {
					if i := bytes.Index(out, []byte(s)); i >= 0 {
						t.Errorf("%s output contains the planted secret %q: ...%s...", what, s, out[max(0, i-80):min(len(out), i+len(s)+20)])
					}
				}
			}
			// The secrets are found, so the test looks where they would leak.
			if rep := parseReport(t, outputs[string(DockerArchive)+" json"]); len(rep.atOrAbove("medium")) == 0 {
				t.Errorf("no findings: nothing to leak")
			}
		})
	}
}
