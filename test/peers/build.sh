#!/usr/bin/env bash
# Builds the real third-party peers that FlowTrace's exporter tests talk to, from the
# Go module proxy, with the pinned go.mod/go.sum files beside this script.
#
#   test/peers/build.sh [jaeger|datadog-agent|otelcol|all]     (default: all)
#
# Each binary lands in ${FLOWTRACE_PEERS_CACHE:-$HOME/.cache/flowtrace/peers}/<name>-<version>/
# (outside the repository), and the script prints its absolute path, one line per peer,
# on stdout; everything else goes to stderr. A binary that is already there, built from
# the same inputs (go.mod, go.sum, *.go, this script, `go version`: see the .inputs stamp
# next to it), is reused.
# FLOWTRACE_PEERS_REBUILD=1 forces a rebuild.
#
# Builds run under `nice -n 10` (the machine is small and shared) with CGO_ENABLED=0 and
# -trimpath -mod=readonly -buildvcs=false, so the same inputs give the same binary. A cold
# build of both peers fills ~1.5 GB of Go module cache and ~1.7 GB of build cache and takes
# about 5 minutes on 2 cores; a cached run well under a second. No GOTOOLCHAIN is needed:
# both modules build with Go 1.26.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${FLOWTRACE_PEERS_CACHE:-${HOME:-/tmp}/.cache/flowtrace/peers}

log() { printf 'peers/build.sh: %s\n' "$*" >&2; }

command -v go >/dev/null 2>&1 || { log "the go command is not on PATH: install Go >= 1.26 first"; exit 1; }

# name -> version (part of the cache dir name; bump it together with go.mod)
peer_version() {
  case "$1" in
    jaeger) echo "v1.76.0" ;;              # github.com/jaegertracing/jaeger v1.76.0 == Jaeger v2.13.0
    datadog-agent) echo "v0.85.4" ;;       # github.com/DataDog/datadog-agent/pkg/trace v0.85.4 (trace-agent receiver)
    otelcol) echo "v0.140.0" ;;            # go.opentelemetry.io/collector/otelcol v0.140.0 (the modules Jaeger v1.76.0 uses too)
    *) return 1 ;;
  esac
}

# name -> package to build (inside the module in $HERE/<name>)
peer_package() {
  case "$1" in
    jaeger) echo "github.com/jaegertracing/jaeger/cmd/jaeger" ;;
    datadog-agent) echo "." ;;
    otelcol) echo "." ;;
  esac
}

# name -> extra -ldflags
peer_ldflags() {
  case "$1" in
    jaeger) echo "-s -w -X github.com/jaegertracing/jaeger/internal/version.latestVersion=v2.13.0" ;;
    *) echo "-s -w" ;;
  esac
}

inputs_hash() {
  local dir=$1
  (cd "$dir" && cat go.mod go.sum $(ls ./*.go 2>/dev/null) "$HERE/build.sh" && go version) | sha256sum | cut -c1-16
}

build_one() {
  local name=$1 version dir out bin stamp hash
  version=$(peer_version "$name") || { log "unknown peer '$name' (want jaeger, datadog-agent, otelcol or all)"; exit 2; }
  dir="$HERE/$name"
  out="$CACHE/$name-$version"
  bin="$out/$name"
  stamp="$out/.inputs"
  hash=$(inputs_hash "$dir")
  mkdir -p "$out"

  # One build at a time per peer, even with several test workers calling us at once.
  exec 9>"$out/.lock"
  flock 9

  if [[ "${FLOWTRACE_PEERS_REBUILD:-0}" != 1 && -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$hash" ]]; then
    log "$name $version: cached"
  else
    log "$name $version: building (cold builds take minutes) ..."
    local start=$SECONDS tmp="$bin.tmp.$$"
    (
      cd "$dir"
      export CGO_ENABLED=0
      export GOFLAGS="${GOFLAGS:+$GOFLAGS }-trimpath -mod=readonly -buildvcs=false"
      nice -n 10 go build -ldflags="$(peer_ldflags "$name")" -o "$tmp" "$(peer_package "$name")"
    ) || { rm -f "$tmp"; log "$name $version: BUILD FAILED"; exit 1; }
    mv -f "$tmp" "$bin"
    echo "$hash" >"$stamp"
    log "$name $version: built in $((SECONDS - start))s, $(du -h "$bin" | cut -f1)"
  fi
  exec 9>&-
  echo "$bin"
}

target=${1:-all}
case "$target" in
  all) build_one jaeger; build_one datadog-agent; build_one otelcol ;;
  *) build_one "$target" ;;
esac
