#!/usr/bin/env bash
# make bench: performance figures. The large-image benchmarks generate an ≥800 MB synthetic
# image once (cached in .cache/bench) and print wall time, MB/s, peak RSS and the ratio to
# the read floor; the micro-benchmarks print parser and detector throughput.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
echo "== scan: large image (docker-archive, registry)"
go test ./internal/bench -run '^$' -bench 'Scan' -benchtime 1x -timeout 60m
echo "== engine, checks, writers, policy, secret detector, strace parser"
go test ./pkg/analyze/... ./pkg/report ./pkg/policy ./pkg/secret/... -run '^$' -bench . -benchmem -timeout 30m
go test ./pkg/seccomp -run '^$' -bench Parse -benchtime 3x -cpu 1 -timeout 30m
echo "== sbom and scan --sbom on the fat builder fixture (starts the end-to-end set-up)"
scripts/e2e-setup.sh start
trap 'scripts/e2e-teardown.sh' EXIT
# shellcheck disable=SC1091
. .cache/e2e/env
go test -tags e2e ./internal/bench -run '^$' -bench 'SBOM' -benchtime 1x -timeout 60m
