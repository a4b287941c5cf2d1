package report

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// compileSchema loads a JSON Schema file from disk. Formats are asserted (uri, date-time...).
func compileSchema(t *testing.T, file string) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("file:///schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("file:///schema.json")
	if err != nil {
		t.Fatalf("compiling %s: %v", file, err)
	}
	return s
}

func validate(t *testing.T, s *jsonschema.Schema, doc []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	return s.Validate(v)
}

// TestJSONMatchesSchema validates the JSON writer's output against the documented schema
// (docs/report.schema.json), and checks that the schema rejects what it should.
func TestJSONMatchesSchema(t *testing.T) {
	s := compileSchema(t, "../../docs/report.schema.json")
	for name, r := range map[string]*Report{"sample": sampleReport(), "empty": emptyReport(), "zero": {}} {
		t.Run(name, func(t *testing.T) {
			if err := validate(t, s, write(t, "json", r)); err != nil {
				t.Errorf("JSON report does not match docs/report.schema.json:\n%v", err)
			}
		})
	}
	for _, tc := range []struct {
		name   string
		mutate func(m map[string]any)
	}{
		{"severity not a name", func(m map[string]any) { finding0(m)["severity"] = 4 }},
		{"unknown severity", func(m map[string]any) { finding0(m)["severity"] = "severe" }},
		{"missing location", func(m map[string]any) { delete(finding0(m), "location") }},
		{"extra field", func(m map[string]any) { m["extra"] = true }},
		{"no schemaVersion", func(m map[string]any) { delete(m, "schemaVersion") }},
		{"schemaVersion 2", func(m map[string]any) { m["schemaVersion"] = "2.0.0" }},
		{"bad rule ID", func(m map[string]any) { finding0(m)["ruleID"] = "X1" }},
		{"evidence too long", func(m map[string]any) { finding0(m)["evidence"] = strings.Repeat("a", 201) }},
		{"layerIndex below -1", func(m map[string]any) { finding0(m)["location"].(map[string]any)["layerIndex"] = -2 }},
		{"bad digest", func(m map[string]any) { m["image"].(map[string]any)["digest"] = "not a digest" }},
	} {
		t.Run("rejects/"+tc.name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal(write(t, "json", sampleReport()), &m); err != nil {
				t.Fatal(err)
			}
			tc.mutate(m)
			b, _ := json.Marshal(m)
			if err := validate(t, s, b); err == nil {
				t.Error("schema accepted an invalid report")
			}
		})
	}
}

func finding0(m map[string]any) map[string]any {
	return m["findings"].([]any)[0].(map[string]any)
}

// TestSARIFMatchesSchema validates the SARIF writer's output against the OASIS SARIF 2.1.0
// schema vendored in testdata (see testdata/README.md).
func TestSARIFMatchesSchema(t *testing.T) {
	s := compileSchema(t, "testdata/sarif-schema-2.1.0.json")
	for name, r := range map[string]*Report{"sample": sampleReport(), "empty": emptyReport(), "zero": {}} {
		t.Run(name, func(t *testing.T) {
			if err := validate(t, s, write(t, "sarif", r)); err != nil {
				t.Errorf("SARIF output does not match the SARIF 2.1.0 schema:\n%v", err)
			}
		})
	}
	for _, tc := range []struct {
		name   string
		mutate func(m map[string]any)
	}{
		{"wrong version", func(m map[string]any) { m["version"] = "2.0.0" }},
		{"bad level", func(m map[string]any) { result0(m)["level"] = "critical" }},
		{"startLine 0", func(m map[string]any) {
			result0(m)["locations"].([]any)[0].(map[string]any)["physicalLocation"].(map[string]any)["region"].(map[string]any)["startLine"] = 0
		}},
		{"message without text", func(m map[string]any) { result0(m)["message"] = map[string]any{} }},
	} {
		t.Run("rejects/"+tc.name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal(write(t, "sarif", sampleReport()), &m); err != nil {
				t.Fatal(err)
			}
			tc.mutate(m)
			b, _ := json.Marshal(m)
			if err := validate(t, s, b); err == nil {
				t.Error("schema accepted an invalid SARIF log")
			}
		})
	}
}

func result0(m map[string]any) map[string]any {
	return m["runs"].([]any)[0].(map[string]any)["results"].([]any)[0].(map[string]any)
}
