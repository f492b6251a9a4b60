#!/usr/bin/env bash
# Makes the base image the FlowTrace images build FROM where no registry is reachable: Debian
# bookworm (minbase, by debootstrap from Debian's mirror) plus this machine's own `node` binary and
# npm, laid out as in the official node image (/usr/local/bin/node, /usr/local/lib/node_modules/npm),
# then `docker import`ed. Prints the image name (flowtrace-base:bookworm-node<version>-<hash>) on stdout;
# everything else goes to stderr.
#
#   deploy/base-image.sh            then: docker build --build-arg BASE_IMAGE=<printed name> …
#
# Needs root (debootstrap), debootstrap, and a Docker engine (DOCKER_HOST is honoured). The root
# file system is cached in ${FLOWTRACE_BASE_CACHE:-$HOME/.cache/flowtrace/base}/<hash>.tar, keyed
# by the inputs (this script, the node binary, npm's version, the mirrors and suite) and checked
# against its sha256 before use; it holds Debian's security updates of the day it was built. An image that
# is already there under its name is reused. FLOWTRACE_BASE_REBUILD=1 forces a rebuild.
set -euo pipefail

SUITE=${FLOWTRACE_BASE_SUITE:-bookworm}
MIRROR=${FLOWTRACE_BASE_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${FLOWTRACE_BASE_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
# Release files are checked against Debian's archive keys (HTTP mirrors are the norm: apt trusts
# signatures, not transport); without the keyring debootstrap would go on unverified.
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
CACHE=${FLOWTRACE_BASE_CACHE:-${HOME:-/tmp}/.cache/flowtrace/base}
DOCKER=${DOCKER:-docker}

log() { printf 'base-image.sh: %s\n' "$*" >&2; }

[ "$(id -u)" = 0 ] || { log "debootstrap needs root: run as root (or under sudo)"; exit 1; }
for tool in debootstrap node npm "$DOCKER" sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || { log "$tool is not on PATH (apt-get install -y debootstrap docker.io)"; exit 1; }
done
[ -f "$KEYRING" ] || { log "$KEYRING is missing (apt-get install -y debian-archive-keyring)"; exit 1; }

# The cache feeds root's docker import: only this user may write to it.
mkdir -p "$CACHE"
read -r CACHE_UID CACHE_MODE < <(stat -c '%u %a' "$CACHE")
if [ "$CACHE_UID" != "$(id -u)" ] || (( (8#$CACHE_MODE & 8#022) != 0 )) || [ -L "$CACHE" ]; then
  log "refusing the cache $CACHE: it must be a directory owned by $(id -un) that nobody else can write"
  exit 1
fi

NODE_BIN=$(readlink -f "$(command -v node)")
NODE_VERSION=$(node --version)
NPM_DIR=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")") # …/node_modules/npm
[ -f "$NPM_DIR/package.json" ] || { log "cannot find npm's folder (got $NPM_DIR)"; exit 1; }
NPM_VERSION=$(node -p "require('$NPM_DIR/package.json').version")

# The host's own certificate authorities (/usr/local/share/ca-certificates: a company or sandbox
# proxy's), so that the build stage reaches the npm registry the way this machine does.
LOCAL_CAS=(/usr/local/share/ca-certificates/*.crt)
[ -e "${LOCAL_CAS[0]}" ] || LOCAL_CAS=()

HASH=$( { cat "${BASH_SOURCE[0]}"; sha256sum "$NODE_BIN" ${LOCAL_CAS[@]+"${LOCAL_CAS[@]}"}; echo "$NPM_VERSION $SUITE $MIRROR $SECURITY_MIRROR $(uname -m)"; } | sha256sum | cut -c1-12)
IMAGE="flowtrace-base:${SUITE}-node${NODE_VERSION#v}-${HASH}"
TARBALL="$CACHE/$HASH.tar"

if [ "${FLOWTRACE_BASE_REBUILD:-0}" != 1 ] && "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then
  log "reusing $IMAGE"
  echo "$IMAGE"
  exit 0
fi

# A cached root file system is used only if it is the one this script wrote (its checksum beside it).
if [ -f "$TARBALL" ] && ! (cd "$CACHE" && sha256sum --quiet -c "$HASH.tar.sha256" >/dev/null 2>&1); then
  log "the cached $TARBALL does not match its checksum: rebuilding it"
  rm -f "$TARBALL" "$TARBALL.sha256"
fi

if [ "${FLOWTRACE_BASE_REBUILD:-0}" = 1 ] || [ ! -f "$TARBALL" ]; then
  ROOTFS=$(mktemp -d "$CACHE/rootfs.XXXXXX")
  trap 'rm -rf "$ROOTFS"' EXIT
  log "debootstrap --variant=minbase $SUITE from $MIRROR (a few minutes)"
  nice -n 10 debootstrap --variant=minbase --include=ca-certificates --keyring="$KEYRING" --force-check-gpg \
    "$SUITE" "$ROOTFS" "$MIRROR" >&2
  # Debian's security and point-release updates, which debootstrap's one suite lacks (apt in the
  # root file system checks them with the keyring debootstrap installed there).
  printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s %s-security main\n' \
    "$MIRROR" "$SUITE" "$MIRROR" "$SUITE" "$SECURITY_MIRROR" "$SUITE" >"$ROOTFS/etc/apt/sources.list"
  cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
  chroot "$ROOTFS" apt-get -qq update >&2
  DEBIAN_FRONTEND=noninteractive chroot "$ROOTFS" apt-get -qq -y upgrade >&2
  rm -f "$ROOTFS/etc/resolv.conf"
  # What a base image needs, not what an installer leaves: no apt lists, caches, logs or docs.
  rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/var/cache/apt/archives/*.deb \
         "$ROOTFS"/var/log/* "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* \
         "$ROOTFS"/tmp/* "$ROOTFS"/var/tmp/*
  install -D -m 0755 "$NODE_BIN" "$ROOTFS/usr/local/bin/node"
  mkdir -p "$ROOTFS/usr/local/lib/node_modules"
  cp -a "$NPM_DIR" "$ROOTFS/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOTFS/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$ROOTFS/usr/local/bin/npx"
  if [ ${#LOCAL_CAS[@]} -gt 0 ]; then
    install -m 0644 "${LOCAL_CAS[@]}" "$ROOTFS/usr/local/share/ca-certificates/"
    chroot "$ROOTFS" update-ca-certificates >&2
  fi
  # The host's node must run on the image's libraries.
  chroot "$ROOTFS" /usr/local/bin/node --version >/dev/null || { log "the host's node does not run inside $SUITE"; exit 1; }
  tar --numeric-owner -C "$ROOTFS" -cf "$TARBALL.tmp" .
  mv "$TARBALL.tmp" "$TARBALL"
  (cd "$CACHE" && sha256sum "$HASH.tar" >"$HASH.tar.sha256")
fi

# node keeps its own CA list: have it also trust the system's, which now holds the host's CAs.
CHANGES=(--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
[ ${#LOCAL_CAS[@]} -eq 0 ] || CHANGES+=(--change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt')
log "docker import $TARBALL as $IMAGE"
"$DOCKER" import "${CHANGES[@]}" \
  --change 'CMD ["node"]' \
  "$TARBALL" "$IMAGE" >/dev/null
echo "$IMAGE"
