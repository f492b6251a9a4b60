#!/usr/bin/env bash
# Makes the Rust build image deploy/demo-rust.Dockerfile builds FROM (its RUST_IMAGE) where no
# registry is reachable (elsewhere the official rust image does): BASE_IMAGE (e.g. what
# deploy/base-image.sh printed) plus Debian's C compiler and this machine's own Rust toolchain (the
# one `rustc` on PATH runs: its sysroot, docs left out) in /usr/local/rust. Prints the image name
# (flowtrace-rust:<rustc version>-<hash>) on stdout; everything else goes to stderr.
#
#   deploy/rust-image.sh BASE_IMAGE     then: docker build --build-arg RUST_IMAGE=<printed name> …
#
# Needs rustc and cargo (1.88+, a toolchain built for glibc: rustup's are), a Docker engine
# (DOCKER_HOST is honoured) and Debian's mirror from the build (`--network host`: the engines of
# FlowTrace's tests have no bridge network). The name is keyed by the inputs (this script, the base
# image, rustc's and cargo's versions): an image already there under its name is reused;
# FLOWTRACE_RUST_IMAGE_REBUILD=1 forces a rebuild. Cost: the toolchain (≈ 600 MB without its docs)
# is sent to the engine once per new name, plus gcc from Debian.
set -euo pipefail

BASE_IMAGE=${1:?usage: deploy/rust-image.sh BASE_IMAGE}
DOCKER=${DOCKER:-docker}

log() { printf 'rust-image.sh: %s\n' "$*" >&2; }

for tool in rustc cargo tar sha256sum "$DOCKER"; do
  command -v "$tool" >/dev/null 2>&1 || { log "$tool is not on PATH"; exit 1; }
done

SYSROOT=$(rustc --print sysroot)
[ -x "$SYSROOT/bin/rustc" ] && [ -x "$SYSROOT/bin/cargo" ] || { log "no rustc and cargo in the sysroot $SYSROOT"; exit 1; }
RUSTC_VERSION=$(rustc --version | cut -d' ' -f2)
HASH=$( { cat "${BASH_SOURCE[0]}"; echo "$BASE_IMAGE"; rustc -vV; cargo -V; } | sha256sum | cut -c1-12)
IMAGE="flowtrace-rust:${RUSTC_VERSION}-${HASH}"

if [ "${FLOWTRACE_RUST_IMAGE_REBUILD:-0}" != 1 ] && "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then
  log "reusing $IMAGE"
  echo "$IMAGE"
  exit 0
fi

CONTEXT=$(mktemp -d)
trap 'rm -rf "$CONTEXT"' EXIT
# As the official rust image: cargo and rustc on PATH, a C compiler and libc's headers to link with.
cat >"$CONTEXT/Dockerfile" <<'EOF'
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
COPY toolchain /usr/local/rust
ENV PATH=/usr/local/rust/bin:$PATH \
    CARGO_HOME=/usr/local/cargo
RUN rustc --version && cargo --version
EOF

# The context streamed as one tar: the Dockerfile, and the sysroot renamed `toolchain` (no copy on disk).
log "docker build $IMAGE from $BASE_IMAGE and $SYSROOT"
PARENT=$(dirname "$SYSROOT")
NAME=$(basename "$SYSROOT")
tar -c -C "$CONTEXT" Dockerfile -C "$PARENT" --exclude="$NAME/share/doc" --transform="s,^$NAME,toolchain," "$NAME" \
  | "$DOCKER" build --network host --build-arg BASE_IMAGE="$BASE_IMAGE" -t "$IMAGE" - >&2
echo "$IMAGE"
