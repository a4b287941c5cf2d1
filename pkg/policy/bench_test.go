package policy

import (
	"fmt"
	"testing"
	"time"

	"github.com/imgharden/imgharden/pkg/finding"
)

// BenchmarkProcess runs the processors over 10,000 findings with a policy of 20 ignore entries.
func BenchmarkProcess(b *testing.B) {
	cat, err := finding.NewCatalog(rSetuid, rNet, rShell, rExp, rRoot, rEnv)
	if err != nil {
		b.Fatal(err)
	}
	rules := []*finding.Rule{rSetuid, rNet, rShell, rExp, rRoot, rEnv}
	var in []finding.Finding
	for i := range 10000 {
		in = append(in, fileAt(rules[i%len(rules)], fmt.Sprintf("/usr/lib/pkg%d/file%d", i%97, i), i%5))
	}
	src := "severity: {IH1002: low}\ndisable: [IH2002]\nignore:\n"
	for i := range 20 {
		src += fmt.Sprintf("  - id: IH1001\n    paths: [\"/usr/lib/pkg%d/**\", \"/opt/**/x%d\"]\n    reason: r\n", i, i)
	}
	c, err := Parse([]byte(src), "bench.yaml")
	if err != nil {
		b.Fatal(err)
	}
	o := Options{Catalog: cat, Now: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
	for b.Loop() {
		res := c.Process(in, o)
		if len(res.Findings) == 0 {
			b.Fatal("everything suppressed")
		}
	}
}
