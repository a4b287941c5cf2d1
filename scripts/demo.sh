#!/usr/bin/env bash
# make demo: on a fresh Debian 12 machine (root), set up podman and the debootstrap base image,
# build imgharden, build the fat builder fixture image and scan it. Prints the text report.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

scripts/e2e-setup.sh
# shellcheck disable=SC1091
. .cache/e2e/env

echo "== building imgharden" >&2
make --no-print-directory build

echo "== building the fat builder fixture (build-essential, curl, wget, netcat, git, python3)" >&2
buildah bud --layers --pull=never --network host --format oci --quiet \
	-t localhost/imgharden-e2e/fat-builder:latest testdata/images/fat-builder >/dev/null

archive="${IMGHARDEN_E2E_DIR:-.cache/e2e}/demo-fat-builder.tar"
rm -f "$archive"
podman save --format docker-archive -o "$archive" localhost/imgharden-e2e/fat-builder:latest

echo "== imgharden scan docker-archive:$archive" >&2
rc=0
bin/imgharden scan --fail-on critical "docker-archive:$archive" || rc=$?
rm -f "$archive"
case $rc in
0 | 1) echo "== done: exit code $rc (1 = findings at or above --fail-on critical)" >&2 ;;
*) exit "$rc" ;;
esac
