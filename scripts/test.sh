#!/usr/bin/env bash
# The test command (make test; .ci/run): set up the end-to-end environment (Debian packages,
# podman config, debootstrap base image, a local registry), run every unit and end-to-end
# test, and stop what the set-up started.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
start=$(date +%s)

scripts/e2e-setup.sh
# shellcheck disable=SC1091
. .cache/e2e/env
trap 'scripts/e2e-teardown.sh || true' EXIT

echo "== gofmt / go vet"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt needed:"; echo "$unformatted"; exit 1; fi
go vet -tags e2e ./...

echo "== go test (unit + end-to-end)"
go test -count=1 -timeout 30m -tags e2e ./...

echo "== make test took $(( $(date +%s) - start ))s"
