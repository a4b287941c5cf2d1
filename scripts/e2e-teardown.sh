#!/usr/bin/env bash
# e2e-teardown.sh — stop what scripts/e2e-setup.sh started: the registry (its storage is deleted)
# and podman's API socket; removes .cache/e2e/env. The caches that make the next set-up quick
# (the debootstrap tarball, podman's images and build cache, the fixture exports) are kept;
# `rm -rf .cache/e2e` plus `podman rmi` of localhost/imgharden-e2e/* reclaims them.
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/e2e-setup.sh" stop
