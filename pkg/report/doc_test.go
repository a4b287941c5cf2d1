package report

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/imgharden/imgharden/pkg/finding"
)

const jsonDoc = "../../docs/json-report.md"

// docExample is the report shown in docs/json-report.md, sorted as policy sorts.
func docExample() *Report {
	return &Report{
		Tool: Tool{Name: "imgharden", Version: "v1.0.0", InformationURI: "https://github.com/imgharden/imgharden"},
		Image: Image{Ref: "registry.example.com/app:1.4.2", Digest: "sha256:" + strings.Repeat("9", 64),
			ID: "sha256:" + strings.Repeat("8", 64), Platform: "linux/amd64", User: "app"},
		Layers: []Layer{
			{Index: 0, Digest: layer0, DiffID: diff0, CreatedBy: "ADD alpine-minirootfs.tar.gz / # buildkit"},
			{Index: 1, Digest: layer1, DiffID: diff1, CreatedBy: "COPY . /app # buildkit"},
		},
		Findings: []finding.Finding{
			finding.New(ruleEnvSecret, finding.Location{Env: "DB_PASSWORD", LayerIndex: -1},
				"DB_PASSWORD looks like a password", "hu**********42"),
			finding.New(ruleAWSKey, at("/app/.aws/credentials", 1, layer1, diff1, "COPY . /app # buildkit", true),
				"AWS access key ID in /app/.aws/credentials", "AKIA************MPLE"),
		},
		Suppressed: 1,
	}
}

// TestJSONDocExample keeps the example in docs/json-report.md equal to what the writer
// prints; go test -update rewrites it.
func TestJSONDocExample(t *testing.T) {
	b, err := os.ReadFile(jsonDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	const open, close = "<!-- example:start -->\n```json\n", "```\n<!-- example:end -->"
	i, j := strings.Index(doc, open), strings.Index(doc, close)
	if i < 0 || j < i {
		t.Fatalf("%s has no example markers", jsonDoc)
	}
	ex := docExample()
	for i := 1; i < len(ex.Findings); i++ {
		if finding.Less(ex.Findings[i], ex.Findings[i-1]) {
			t.Fatal("the documented example is not sorted the way policy sorts")
		}
	}
	got := string(write(t, "json", ex))
	if *update {
		doc = doc[:i+len(open)] + got + doc[j:]
		if err := os.WriteFile(jsonDoc, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if diff := cmp.Diff(doc[i+len(open):j], got); diff != "" {
		t.Errorf("the example in %s is stale (-doc +writer); run go test -update:\n%s", jsonDoc, diff)
	}
	// Every field of the schema is documented.
	for _, field := range []string{"schemaVersion", "tool.name", "tool.version", "tool.informationUri",
		"image.ref", "image.digest", "image.id", "image.platform", "image.user",
		"layers[].index", "layers[].digest", "layers[].diffID", "layers[].createdBy",
		"findings[].ruleID", "findings[].slug", "findings[].title", "findings[].severity", "findings[].message",
		"findings[].location.path", "findings[].location.line", "findings[].location.env", "findings[].location.label",
		"findings[].location.layerIndex", "findings[].location.layerDigest", "findings[].location.diffID",
		"findings[].location.createdBy", "findings[].location.removed",
		"findings[].evidence", "findings[].details", "findings[].fingerprint",
		"summary.total", "summary.critical", "summary.high", "summary.medium", "summary.low", "summary.info", "summary.suppressed",
	} {
		if !strings.Contains(doc, "`"+field+"`") {
			t.Errorf("%s does not document `%s`", jsonDoc, field)
		}
	}
}
