package report

import (
	"fmt"
	"io"
	"testing"

	"github.com/imgharden/imgharden/pkg/finding"
)

// BenchmarkWrite writes a report of 10,000 findings in each format and reports the output size.
func BenchmarkWrite(b *testing.B) {
	r := &Report{Rules: catalogRules(), Image: Image{Ref: "registry.example.com/app:1.0"}}
	rules := catalogRules()
	for i := range 10000 {
		rule := rules[i%len(rules)]
		r.Findings = append(r.Findings, finding.New(rule,
			at(fmt.Sprintf("/usr/lib/pkg%d/file%d", i%97, i), i%5, layer0, diff0, "RUN /bin/sh -c apt-get install -y thing # buildkit", i%7 == 0),
			"message about the file", "AKIA************MPLE"))
	}
	for _, format := range Formats() {
		b.Run(format, func(b *testing.B) {
			w, _ := NewWriter(format)
			var n countingWriter
			for b.Loop() {
				if err := w.Write(&n, r); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/float64(b.N)/1e6, "MB/op")
		})
	}
}

type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}

var _ io.Writer = (*countingWriter)(nil)
