package rewrite_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/imgharden/imgharden/pkg/rewrite"
)

var update = flag.Bool("update", false, "rewrite the want.Dockerfile goldens")

const goldenDir = "../../testdata/rewrite"

// testResolver stands in for a registry in the golden cases: bases under registry.invalid
// do not resolve (as with an unreachable registry), every other one gets a digest derived from
// its name. TestPinBaseRemote covers the real ggcr path against an in-process registry.
func testResolver(_ context.Context, ref string) (string, error) {
	if strings.HasPrefix(ref, "registry.invalid/") {
		return "", errors.New("dial tcp: lookup registry.invalid: no such host")
	}
	sum := 0
	for _, c := range ref {
		sum = sum*31 + int(c)
	}
	return fmt.Sprintf("sha256:%064x", uint64(sum)&0xffffffffffff), nil
}

func TestGolden(t *testing.T) {
	cases, err := os.ReadDir(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			dir := filepath.Join(goldenDir, c.Name())
			src, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
			if err != nil {
				t.Fatal(err)
			}
			rw := rewrite.New(rewrite.WithDigestResolver(testResolver))
			res, err := rw.Rewrite(t.Context(), "Dockerfile", src)
			if err != nil {
				t.Fatal(err)
			}
			wantPath := filepath.Join(dir, "want.Dockerfile")
			if *update {
				if err := os.WriteFile(wantPath, res.Output, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(wantPath)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), string(res.Output)); diff != "" {
				t.Errorf("rewrite mismatch (-want +got):\n%s", diff)
			}
			// Rewriting the output again changes nothing.
			again, err := rw.Rewrite(t.Context(), "Dockerfile", res.Output)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(res.Output), string(again.Output)); diff != "" {
				t.Errorf("not idempotent (-first +second):\n%s", diff)
			}
			if again.Changed() {
				t.Errorf("second rewrite reports changes: %+v", again.Changes)
			}
			for _, ch := range res.Changes {
				t.Logf("change %s line %d: %s", ch.Rule.ID, ch.Line, ch.Summary)
			}
			for _, f := range res.Findings {
				t.Logf("finding %s line %d: %s", f.RuleID, f.Location.Line, f.Message)
			}
		})
	}
}
