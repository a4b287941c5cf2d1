package sbom_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/imgharden/imgharden/pkg/sbom"
)

// Schema URLs: the $id of the SPDX 2.3 schema and of CycloneDX 1.7 (see testdata/schema/README.md).
const (
	spdxSchemaURL = "http://spdx.org/rdf/terms/2.3"
	cdxSchemaURL  = "http://cyclonedx.org/schema/bom-1.7.schema.json"
)

var (
	schemasOnce sync.Once
	schemas     map[sbom.Format]*jsonschema.Schema
	schemasErr  error
)

// compileSchemas loads the vendored schemas once per test binary.
func compileSchemas(t testing.TB) map[sbom.Format]*jsonschema.Schema {
	t.Helper()
	schemasOnce.Do(func() {
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		add := func(url, file string) {
			if schemasErr != nil {
				return
			}
			f, err := os.Open(file)
			if err != nil {
				schemasErr = err
				return
			}
			defer f.Close()
			doc, err := jsonschema.UnmarshalJSON(f)
			if err != nil {
				schemasErr = err
				return
			}
			schemasErr = c.AddResource(url, doc)
		}
		add(spdxSchemaURL, "testdata/schema/spdx/spdx-schema-2.3.json")
		cdx, _ := filepath.Glob("testdata/schema/cyclonedx/*.schema.json")
		for _, f := range cdx {
			// The BOM schema refers to its siblings by file name, relative to its own $id.
			add("http://cyclonedx.org/schema/"+filepath.Base(f), f)
		}
		add(cdxSchemaURL, "testdata/schema/cyclonedx/bom-1.7.SNAPSHOT.schema.json")
		if schemasErr != nil {
			return
		}
		schemas = map[sbom.Format]*jsonschema.Schema{}
		for f, url := range map[sbom.Format]string{sbom.SPDXJSON: spdxSchemaURL, sbom.CycloneDXJSON: cdxSchemaURL} {
			if schemas[f], schemasErr = c.Compile(url); schemasErr != nil {
				return
			}
		}
	})
	if schemasErr != nil {
		t.Fatalf("schemas: %v", schemasErr)
	}
	return schemas
}

// validate checks doc against the schema of format f; syft-json has none and is only parsed.
func validate(t testing.TB, f sbom.Format, doc []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	s, ok := compileSchemas(t)[f]
	if !ok {
		return nil
	}
	return s.Validate(inst)
}

// The validator must reject documents that break the schemas, or the validation tests prove nothing.
func TestSchemasRejectBadDocuments(t *testing.T) {
	tests := []struct {
		name   string
		format sbom.Format
		doc    string
		ok     bool
	}{
		{"minimal SPDX 2.3", sbom.SPDXJSON, `{"SPDXID":"SPDXRef-DOCUMENT","spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0",
			"name":"x","documentNamespace":"https://example.com/x","creationInfo":{"created":"2026-01-02T03:04:05Z","creators":["Tool: imgharden"]}}`, true},
		{"SPDX without creationInfo", sbom.SPDXJSON, `{"SPDXID":"SPDXRef-DOCUMENT","spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0",
			"name":"x","documentNamespace":"https://example.com/x"}`, false},
		{"SPDX package with a bad checksum algorithm", sbom.SPDXJSON, `{"SPDXID":"SPDXRef-DOCUMENT","spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0",
			"name":"x","documentNamespace":"https://example.com/x","creationInfo":{"created":"2026-01-02T03:04:05Z","creators":["Tool: imgharden"]},
			"packages":[{"SPDXID":"SPDXRef-p","name":"p","downloadLocation":"NOASSERTION","checksums":[{"algorithm":"CRC32","checksumValue":"00"}]}]}`, false},
		{"minimal CycloneDX 1.7", sbom.CycloneDXJSON, `{"bomFormat":"CycloneDX","specVersion":"1.7","version":1}`, true},
		{"CycloneDX with a wrong bomFormat", sbom.CycloneDXJSON, `{"bomFormat":"SPDX","specVersion":"1.7"}`, false},
		{"CycloneDX component with an unknown type", sbom.CycloneDXJSON,
			`{"bomFormat":"CycloneDX","specVersion":"1.7","components":[{"type":"gizmo","name":"x"}]}`, false},
		{"CycloneDX licence ID not in the SPDX list", sbom.CycloneDXJSON,
			`{"bomFormat":"CycloneDX","specVersion":"1.7","components":[{"type":"library","name":"x","licenses":[{"license":{"id":"Not-A-License"}}]}]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validate(t, tt.format, []byte(tt.doc))
			if (err == nil) != tt.ok {
				t.Errorf("validate: %v, want ok=%v", firstLine(err), tt.ok)
			}
		})
	}
}

func firstLine(err error) string {
	if err == nil {
		return "<nil>"
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
