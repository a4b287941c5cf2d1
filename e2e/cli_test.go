//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmezard/go-difflib/difflib"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The scan tests run the imgharden binary as a user would: built once per test process from
// this checkout, started with the fixture references of every input form, judged by its exit
// code, stdout and stderr.

var update = flag.Bool("update", false, "rewrite testdata/e2e/<fixture>.golden.json from the docker-archive scan")

// binVersion is stamped into the binary (-X main.version), so the reports' tool.version is fixed.
const binVersion = "e2e"

var (
	tmpRoot string // per-process scratch: the binary and the working directory of every run

	binOnce sync.Once
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	flag.Parse()
	var err error
	if tmpRoot, err = os.MkdirTemp("", "imgharden-e2e-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(tmpRoot)
	os.Exit(code)
}

// imgharden returns the path of the binary built from this checkout, building it on first use.
func imgharden(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		root, err := RepoRoot()
		if err != nil {
			binErr = err
			return
		}
		start := time.Now()
		p := filepath.Join(tmpRoot, "bin", "imgharden")
		// No -trimpath: the binary then reuses the packages go test and go vet compiled, which
		// matters on a cold build cache.
		cmd := exec.Command("go", "build", "-ldflags=-X main.version="+binVersion, "-o", p, "./cmd/imgharden")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build ./cmd/imgharden: %v\n%s", err, out)
			return
		}
		binPath = p
		t.Logf("built imgharden in %s", time.Since(start).Round(time.Millisecond))
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// result is one finished run of the binary.
type result struct {
	args           []string
	stdout, stderr []byte
	code           int
	took           time.Duration
}

func (r *result) String() string {
	return fmt.Sprintf("imgharden %s: exit %d in %s; stderr %q", strings.Join(r.args, " "), r.code,
		r.took.Round(time.Millisecond), r.stderr)
}

// runCLI runs the binary in an empty working directory (no .imgharden.yaml) with an environment
// free of IMGHARDEN_* variables (they set flags), so only the arguments decide what it does.
// DOCKER_HOST is kept: docker-daemon input goes to podman's socket.
func runCLI(t testing.TB, args ...string) *result {
	t.Helper()
	bin := imgharden(t)
	wd := filepath.Join(tmpRoot, "wd")
	if err := os.MkdirAll(wd, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = wd
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "IMGHARDEN_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := &result{args: args, stdout: stdout.Bytes(), stderr: stderr.Bytes(), took: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		r.code = ee.ExitCode()
	default:
		t.Fatalf("imgharden %s: %v; stderr %q", strings.Join(args, " "), err, stderr.Bytes())
	}
	return r
}

// scanned is the JSON scan of one fixture through one input form, run once per process and
// shared by the tests that judge it.
type scanned struct {
	once sync.Once
	ref  string
	res  *result
}

var (
	scansMu sync.Mutex
	scans   = map[string]*scanned{}
)

// scanJSON scans the fixture through tr with --format json --fail-on none, once per process.
func scanJSON(t *testing.T, im *Image, tr Transport) *result {
	t.Helper()
	key := im.Name + " " + string(tr)
	scansMu.Lock()
	s, ok := scans[key]
	if !ok {
		s = &scanned{ref: im.Ref(tr)}
		scans[key] = s
	}
	scansMu.Unlock()
	s.once.Do(func() {
		s.res = runCLI(t, "scan", "--format", "json", "--fail-on", "none", s.ref)
		t.Logf("scan %s (%s): exit %d in %s", im.Name, tr, s.res.code, s.res.took.Round(time.Millisecond))
	})
	if s.res == nil {
		t.Fatalf("scan of %s through %s did not run (an earlier attempt failed)", im.Name, tr)
	}
	return s.res
}

// report mirrors the fields of the JSON report (docs/json-report.md) that the tests read.
type report struct {
	Tool struct {
		Name, Version, InformationURI string
	} `json:"tool"`
	Image struct {
		Ref, Digest, ID, Platform, User string
	} `json:"image"`
	Layers []struct {
		Index     int    `json:"index"`
		Digest    string `json:"digest"`
		DiffID    string `json:"diffID"`
		CreatedBy string `json:"createdBy"`
	} `json:"layers"`
	Findings []jfinding     `json:"findings"`
	Summary  map[string]int `json:"summary"`
}

type jfinding struct {
	RuleID      string            `json:"ruleID"`
	Slug        string            `json:"slug"`
	Title       string            `json:"title"`
	Severity    string            `json:"severity"`
	Message     string            `json:"message"`
	Evidence    string            `json:"evidence"`
	Details     map[string]string `json:"details"`
	Fingerprint string            `json:"fingerprint"`
	Location    struct {
		Path        string `json:"path"`
		Line        int    `json:"line"`
		Env         string `json:"env"`
		Label       string `json:"label"`
		LayerIndex  int    `json:"layerIndex"`
		LayerDigest string `json:"layerDigest"`
		DiffID      string `json:"diffID"`
		CreatedBy   string `json:"createdBy"`
		Removed     bool   `json:"removed"`
	} `json:"location"`
}

func (f jfinding) String() string {
	where := f.Location.Path
	switch {
	case f.Location.Env != "":
		where = "env " + f.Location.Env
	case f.Location.Label != "":
		where = "label " + f.Location.Label
	case where == "":
		where = "config"
	}
	return fmt.Sprintf("%s %s %s layer %d removed=%v: %s [%s]", f.RuleID, f.Severity, where,
		f.Location.LayerIndex, f.Location.Removed, f.Message, f.Evidence)
}

func parseReport(t *testing.T, b []byte) *report {
	t.Helper()
	var r report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("stdout is not a JSON report: %v\n%s", err, first(b, 400))
	}
	return &r
}

// severityRank orders the severity names of the report; "none" ranks above every severity.
var severityRank = map[string]int{"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4, "none": 5}

// atOrAbove lists the findings whose severity is at or above sev.
func (r *report) atOrAbove(sev string) []jfinding {
	var out []jfinding
	for _, f := range r.Findings {
		if severityRank[f.Severity] >= severityRank[sev] {
			out = append(out, f)
		}
	}
	return out
}

// Normalising a report. A golden file must not change when a fixture is rebuilt from the same
// Dockerfile, and the input forms must be comparable with one another. What legitimately
// changes is replaced by a placeholder that keeps the structure: layer i's blob digest becomes
// "<layer i blob>" wherever it appears, so a finding that names the wrong layer still shows in
// a diff. Everything else (rule IDs, paths, severities, layer indexes, removed flags, messages,
// evidence, fingerprints) is kept exactly.
type normalization int

const (
	// acrossForms replaces what differs between the input forms of one image: the reference,
	// the manifest digest (a docker-archive has none) and the layer blob digests (compressed in
	// a registry and an OCI layout, plain tars in a docker-archive).
	acrossForms normalization = iota
	// acrossBuilds also replaces what a rebuild of the same Dockerfile changes: the image ID
	// and diff IDs (file times of RUN steps), the content hashes buildah writes into history
	// lines (COPY file:<sha256>, the base layer's ADD file:<sha256>) and the byte counts of the
	// apt lists and package cache, which come from the Debian mirror on the day of the build
	// (in the message, the evidence, details.bytes and the fingerprint, which hashes evidence).
	acrossBuilds
)

var (
	historyHash = regexp.MustCompile(`\b(file|dir|multi):[0-9a-f]{64}\b`)
	// aptSizes matches the sizes in IH1008 messages and evidence ("(3 files, 82.9 MB)",
	// "3 files, 82910775 bytes"); only findings under the apt paths are normalised.
	aptSizes = regexp.MustCompile(`(\d+ files?), [0-9.]+ (bytes|B|kB|KB|MB|GB)\b`)
	aptPaths = []string{"/var/lib/apt/lists", "/var/cache/apt"}
)

// normalize returns the report as indented JSON with the fields of level replaced. It fails the
// test if a finding's layer digest or diff ID is not the one of the layer its index names.
func normalize(t *testing.T, raw []byte, level normalization) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("decoding the report: %v", err)
	}
	image := doc["image"].(map[string]any)
	image["ref"] = "<ref>"
	image["digest"] = "<manifest digest>"
	if level >= acrossBuilds {
		image["id"] = "<image id>"
	}
	blobs := map[string]string{}
	diffs := map[string]string{}
	var layerBlob, layerDiff []string
	for i, l := range doc["layers"].([]any) {
		l := l.(map[string]any)
		d, id := l["digest"].(string), l["diffID"].(string)
		layerBlob, layerDiff = append(layerBlob, d), append(layerDiff, id)
		blobs[d] = fmt.Sprintf("<layer %d blob>", i)
		l["digest"] = blobs[d]
		if level >= acrossBuilds {
			diffs[id] = fmt.Sprintf("<layer %d diffID>", i)
			l["diffID"] = diffs[id]
			l["createdBy"] = historyHash.ReplaceAllString(l["createdBy"].(string), "$1:<sha256>")
		}
	}
	for _, f := range doc["findings"].([]any) {
		f := f.(map[string]any)
		loc := f["location"].(map[string]any)
		idx, err := loc["layerIndex"].(json.Number).Int64()
		if err != nil {
			t.Fatalf("layerIndex: %v", err)
		}
		d, id := loc["layerDigest"].(string), loc["diffID"].(string)
		switch {
		case idx == -1:
			if d != "" || id != "" {
				t.Errorf("config finding %s names layer digest %q, diffID %q", f["ruleID"], d, id)
			}
		case idx < 0 || int(idx) >= len(layerBlob):
			t.Errorf("finding %s: layerIndex %d, image has %d layers", f["ruleID"], idx, len(layerBlob))
		case d != layerBlob[idx] || id != layerDiff[idx]:
			t.Errorf("finding %s at %v: layer %d digest %s diffID %s, but layers[%d] is %s %s",
				f["ruleID"], loc["path"], idx, d, id, idx, layerBlob[idx], layerDiff[idx])
		}
		if p, ok := blobs[d]; ok {
			loc["layerDigest"] = p
		}
		if level >= acrossBuilds {
			if p, ok := diffs[id]; ok {
				loc["diffID"] = p
			}
			loc["createdBy"] = historyHash.ReplaceAllString(loc["createdBy"].(string), "$1:<sha256>")
			if f["ruleID"] == "IH1008" && underAny(loc["path"].(string), aptPaths) {
				for _, k := range []string{"message", "evidence"} {
					f[k] = aptSizes.ReplaceAllString(f[k].(string), "$1, <size>")
				}
				if d, ok := f["details"].(map[string]any); ok && d["bytes"] != nil {
					d["bytes"] = "<size>"
				}
				f["fingerprint"] = "<hash of the evidence, which has the size>"
			}
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func underAny(p string, dirs []string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// diff returns a unified diff of want and got, or "" when they are equal.
func diff(wantName string, want []byte, gotName string, got []byte) string {
	if bytes.Equal(want, got) {
		return ""
	}
	d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(string(want)), B: difflib.SplitLines(string(got)),
		FromFile: wantName, ToFile: gotName, Context: 2,
	})
	if err != nil || d == "" {
		return fmt.Sprintf("%s and %s differ", wantName, gotName)
	}
	return d
}

// goldenPath is testdata/e2e/<fixture>.golden.json at the repository root.
func goldenPath(t *testing.T, fixture string) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "testdata", "e2e", fixture+".golden.json")
}

// schemas compiles a JSON Schema file of the repository once per process.
var (
	schemaMu sync.Mutex
	schemas  = map[string]*jsonschema.Schema{}
)

func schema(t *testing.T, rel string) *jsonschema.Schema {
	t.Helper()
	schemaMu.Lock()
	defer schemaMu.Unlock()
	if s, ok := schemas[rel]; ok {
		return s
	}
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("file:///schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("file:///schema.json")
	if err != nil {
		t.Fatalf("compiling %s: %v", rel, err)
	}
	schemas[rel] = s
	return s
}

// validate checks doc against the schema at rel (a path from the repository root).
func validate(t *testing.T, rel string, doc []byte) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if err := schema(t, rel).Validate(v); err != nil {
		t.Errorf("output does not match %s:\n%v", rel, err)
	}
}

// oneLineError checks that a failed run printed exactly one line on stderr, starting with
// "imgharden: ", and nothing on stdout.
func oneLineError(t *testing.T, r *result) string {
	t.Helper()
	msg := string(r.stderr)
	if !strings.HasPrefix(msg, "imgharden: ") || !strings.HasSuffix(msg, "\n") || strings.Count(msg, "\n") != 1 {
		t.Errorf("stderr %q, want one line starting with \"imgharden: \"", msg)
	}
	if len(r.stdout) != 0 {
		t.Errorf("stdout %q, want nothing (no partial report)", first(r.stdout, 200))
	}
	return strings.TrimSpace(msg)
}
