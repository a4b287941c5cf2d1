//go:build e2e

package bench

import (
	"os"
	"testing"

	"github.com/imgharden/imgharden/e2e"
)

// BenchmarkSBOMFatBuilder: `imgharden sbom` on the fat builder fixture (docker-archive), next to
// a scan of the same archive with the same binary, and `scan --sbom` from the registry (one
// download for both). Best wall time of 3 runs; peaks are the largest seen.
func BenchmarkSBOMFatBuilder(b *testing.B) {
	fx := e2e.Fixture(b, e2e.FatBuilder)
	bin := buildBinary(b)
	archive := fx.Ref(e2e.DockerArchive)
	fi, err := os.Stat(fx.DockerArchivePath)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var sb, sc, both measured
	for range b.N {
		sb = bestOf(b, 3, func() measured { return runMeasured(b, bin, "sbom", "-q", "-o", os.DevNull, archive) })
		sc = bestOf(b, 3, func() measured { return runMeasured(b, bin, "scan", "-q", "--fail-on", "none", archive) })
		both = bestOf(b, 3, func() measured {
			return runMeasured(b, bin, "scan", "-q", "--fail-on", "none", "--sbom", os.DevNull, fx.Ref(e2e.Registry))
		})
	}
	b.StopTimer()
	b.ReportMetric(float64(fi.Size())/(1<<20), "archive-MB")
	report(b, "sbom", sb)
	report(b, "scan", sc)
	report(b, "scan+sbom-registry", both)
}
