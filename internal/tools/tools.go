//go:build tools

// Package tools pins programs the tests build from this module's own dependency graph.
// buildkitd: the end-to-end test of `rewrite --verify` with BuildKit builds it with
// `go build github.com/moby/buildkit/cmd/buildkitd`, because `go install ...@version`
// refuses a go.mod with exclude directives.
package tools

import (
	_ "github.com/moby/buildkit/cmd/buildkitd"
)
