// Package e2e is imgharden's end-to-end test bed on real images.
//
// Everything but this file carries the build tag e2e: run it with
//
//	scripts/e2e-setup.sh && . .cache/e2e/env && go test -tags e2e ./e2e/...
//
// The fixture images are described by testdata/images/<name>/Dockerfile and built by buildah
// (--layers, so a second run reuses every layer). Fixture builds them once per test process and
// exports each one to every input form the scanner reads; see docs/e2e.md.
package e2e
