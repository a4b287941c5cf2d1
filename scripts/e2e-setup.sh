#!/usr/bin/env bash
# e2e-setup.sh — prepare the end-to-end test bed for imgharden (idempotent; root; Debian 12).
#
#   scripts/e2e-setup.sh [start]   install/verify everything, start services, write .cache/e2e/env
#   scripts/e2e-setup.sh stop      stop the registry and the podman API socket (= e2e-teardown.sh)
#   scripts/e2e-setup.sh status    print what is running
#
# What "start" does, each step skipped when already done:
#   1. installs missing Debian packages (dpkg-query first: a warm run never calls apt);
#   2. writes the project's own containers.conf (/etc is never edited) and uses it via CONTAINERS_CONF;
#   3. imports localhost/debian:bookworm from `debootstrap --variant=minbase bookworm`, caching the
#      rootfs tarball under .cache/e2e so a later import takes seconds;
#   4. starts Debian's docker-registry on 127.0.0.1:<free port> with its own storage (pid file);
#   5. starts podman's Docker-compatible API socket (`podman system service`) for docker-daemon: input;
#   6. runs a container to prove podman works with that configuration;
#   7. writes .cache/e2e/env: shell exports the tests read (internal/e2eenv).
#
# Environment knobs: IMGHARDEN_E2E_CACHE (default <repo>/.cache/e2e),
# IMGHARDEN_DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${IMGHARDEN_E2E_CACHE:-$ROOT/.cache/e2e}
RUN=$CACHE/run
MIRROR=${IMGHARDEN_DEBIAN_MIRROR:-http://deb.debian.org/debian}
BASE_IMAGE=localhost/debian:bookworm
ROOTFS_TAR=$CACHE/debian-bookworm-minbase.tar
CONF=$CACHE/containers.conf
ENV_FILE=$CACHE/env

PACKAGES=(
	podman buildah skopeo runc conmon uidmap netavark iptables # containers
	docker-registry                                            # distribution registry v2
	debootstrap                                                # base image
	strace libcap2-bin gcc git busybox-static openssh-client   # seccomp traces, setcap, fixtures, ssh-keygen
	ca-certificates curl iproute2 tar                          # CA bundle, health checks, ss
)

log() { printf 'e2e-setup: %s\n' "$*" >&2; }
die() {
	printf 'e2e-setup: error: %s\n' "$*" >&2
	exit 1
}

# alive PIDFILE WORD: the pid in PIDFILE runs and its command line contains WORD.
alive() {
	local pid
	[[ -s $1 ]] || return 1
	pid=$(<"$1")
	[[ $pid =~ ^[0-9]+$ ]] && [[ -r /proc/$pid/cmdline ]] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$2"
}

# stop_pid PIDFILE WORD [WHAT]: end that process (only if it is ours) and remove the pid file.
stop_pid() {
	local pid
	if alive "$1" "$2"; then
		pid=$(<"$1")
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 50); do
			[[ -d /proc/$pid ]] || break
			sleep 0.1
		done
		if [[ -d /proc/$pid ]]; then kill -9 "$pid" 2>/dev/null || true; fi
		log "stopped ${3:-$2} (pid $pid)"
	fi
	rm -f "$1"
}

# Where podman's API socket lives: AF_UNIX paths are limited to 107 bytes.
socket_path() {
	local p=$RUN/podman.sock
	if ((${#p} > 100)); then
		p=/run/imgharden-e2e-$(printf '%s' "$CACHE" | sha256sum | cut -c1-12)/podman.sock
	fi
	printf '%s\n' "$p"
}

cmd_stop() {
	stop_pid "$RUN/registry.pid" docker-registry
	stop_pid "$RUN/podman-service.pid" "system service" "podman system service"
	rm -rf "$RUN/registry-data" "$RUN/registry.port" "$(socket_path)"
	rm -f "$ENV_FILE"
}

cmd_status() {
	if alive "$RUN/registry.pid" docker-registry; then
		echo "registry: 127.0.0.1:$(cat "$RUN/registry.port") (pid $(cat "$RUN/registry.pid"))"
	else
		echo "registry: not running"
	fi
	if alive "$RUN/podman-service.pid" "system service"; then
		echo "podman API: unix://$(socket_path) (pid $(cat "$RUN/podman-service.pid"))"
	else
		echo "podman API: not running"
	fi
	[[ -f $ENV_FILE ]] && cat "$ENV_FILE"
	return 0
}

install_packages() {
	local missing=() p
	for p in "${PACKAGES[@]}"; do
		[[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || missing+=("$p")
	done
	((${#missing[@]} == 0)) && return 0
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! { apt-get update -qq && apt-get install -y -qq "${missing[@]}"; } >"$CACHE/apt.log" 2>&1; then
		tail -20 "$CACHE/apt.log" >&2
		die "apt-get install ${missing[*]} failed (log: $CACHE/apt.log)"
	fi
}

write_file_if_changed() { # PATH CONTENT
	if [[ ! -f $1 ]] || [[ "$(cat "$1")" != "$2" ]]; then
		printf '%s\n' "$2" >"$1.tmp"
		mv "$1.tmp" "$1"
	fi
}

write_containers_conf() {
	# crun fails on hybrid cgroup hosts and podman's default ulimits exceed the hard limits there.
	write_file_if_changed "$CONF" '# Written by scripts/e2e-setup.sh: podman/buildah configuration for the end-to-end tests.
[containers]
default_ulimits = []

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"'
	export CONTAINERS_CONF=$CONF
}

ensure_base_image() {
	if podman image exists "$BASE_IMAGE"; then
		return 0
	fi
	if [[ ! -s $ROOTFS_TAR ]]; then
		local tmp
		tmp=$(mktemp -d "$CACHE/debootstrap.XXXXXX")
		log "debootstrap --variant=minbase bookworm ($MIRROR)"
		if ! debootstrap --variant=minbase bookworm "$tmp/rootfs" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1; then
			tail -20 "$CACHE/debootstrap.log" >&2
			rm -rf "$tmp"
			die "debootstrap failed (full log: $CACHE/debootstrap.log)"
		fi
		# Like the official images: no device nodes (the runtime provides /dev), no host identity,
		# no package cache or lists.
		rm -rf "$tmp/rootfs/dev/"* "$tmp/rootfs/proc/"* "$tmp/rootfs/sys/"* \
			"$tmp/rootfs/var/cache/apt/archives/"*.deb "$tmp/rootfs/var/lib/apt/lists/"* \
			"$tmp/rootfs/etc/hostname" "$tmp/rootfs/etc/resolv.conf"
		tar --numeric-owner --xattrs --xattrs-include='*' --sort=name -C "$tmp/rootfs" -cf "$ROOTFS_TAR.tmp" .
		mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
		rm -rf "$tmp"
	fi
	log "podman import $ROOTFS_TAR -> $BASE_IMAGE"
	podman import --quiet \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'CMD ["bash"]' \
		"$ROOTFS_TAR" "$BASE_IMAGE" >/dev/null
}

pick_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 40000))
		if [[ -z $(ss -Hltn "sport = :$p") ]]; then
			echo "$p"
			return 0
		fi
	done
	die "no free TCP port found on 127.0.0.1"
}

ensure_registry() {
	local port
	if alive "$RUN/registry.pid" docker-registry && [[ -s $RUN/registry.port ]] &&
		curl -fsS -o /dev/null "http://127.0.0.1:$(cat "$RUN/registry.port")/v2/"; then
		return 0
	fi
	stop_pid "$RUN/registry.pid" docker-registry
	rm -rf "$RUN/registry-data"
	mkdir -p "$RUN/registry-data"
	for _ in 1 2 3; do
		port=$(pick_port)
		cat >"$RUN/registry.yml" <<EOF
# Written by scripts/e2e-setup.sh: throw-away registry for the end-to-end tests.
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $RUN/registry-data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
EOF
		setsid docker-registry serve "$RUN/registry.yml" >>"$RUN/registry.log" 2>&1 </dev/null &
		echo $! >"$RUN/registry.pid"
		for _ in $(seq 100); do
			if curl -fsS -o /dev/null "http://127.0.0.1:$port/v2/" 2>/dev/null; then
				echo "$port" >"$RUN/registry.port"
				log "registry listening on 127.0.0.1:$port (pid $(cat "$RUN/registry.pid"))"
				return 0
			fi
			alive "$RUN/registry.pid" docker-registry || break
			sleep 0.1
		done
		stop_pid "$RUN/registry.pid" docker-registry
	done
	tail -5 "$RUN/registry.log" >&2
	die "docker-registry did not start (log: $RUN/registry.log)"
}

ensure_podman_service() {
	local sock
	sock=$(socket_path)
	if alive "$RUN/podman-service.pid" "system service" &&
		curl -fsS -o /dev/null --unix-socket "$sock" http://d/_ping 2>/dev/null; then
		return 0
	fi
	stop_pid "$RUN/podman-service.pid" "system service"
	mkdir -p "$(dirname "$sock")"
	rm -f "$sock"
	setsid podman system service --time=0 "unix://$sock" >>"$RUN/podman-service.log" 2>&1 </dev/null &
	echo $! >"$RUN/podman-service.pid"
	for _ in $(seq 100); do
		if curl -fsS -o /dev/null --unix-socket "$sock" http://d/_ping 2>/dev/null; then
			log "podman API on unix://$sock (pid $(cat "$RUN/podman-service.pid"))"
			return 0
		fi
		alive "$RUN/podman-service.pid" "system service" || break
		sleep 0.1
	done
	tail -5 "$RUN/podman-service.log" >&2
	die "podman system service did not start (log: $RUN/podman-service.log)"
}

verify_podman() {
	local out
	if ! out=$(podman run --rm --network none "$BASE_IMAGE" true 2>&1); then
		printf '%s\n' "$out" >&2
		die "podman cannot run a container with $CONF"
	fi
	local driver
	driver=$(podman info --format '{{.Store.GraphDriverName}}')
	if [[ $driver != overlay ]]; then
		log "warning: storage driver is $driver, not overlay: buildah writes per-file whiteouts" \
			"instead of opaque directories, so the opaque-whiteout fixture check will fail"
	fi
}

write_env() {
	q() { printf '%q' "$1"; }
	write_file_if_changed "$ENV_FILE" "# Written by scripts/e2e-setup.sh; source it before go test -tags e2e.
export CONTAINERS_CONF=$(q "$CONF")
export IMGHARDEN_E2E=1
export IMGHARDEN_E2E_REGISTRY=127.0.0.1:$(cat "$RUN/registry.port")
export IMGHARDEN_E2E_BASE=$(q "$BASE_IMAGE")
export IMGHARDEN_E2E_DIR=$(q "$CACHE/work")
export DOCKER_HOST=$(q "unix://$(socket_path)")"
}

cmd_start() {
	local t0=$SECONDS
	[[ $(id -u) == 0 ]] || die "run as root (podman, buildah and debootstrap need it)"
	mkdir -p "$CACHE" "$RUN" "$CACHE/work"
	install_packages
	write_containers_conf
	ensure_base_image
	ensure_registry
	ensure_podman_service
	verify_podman
	write_env
	log "ready in $((SECONDS - t0))s; now: . $ENV_FILE"
}

case ${1:-start} in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
*) die "unknown mode ${1}; use start, stop or status" ;;
esac
