#!/usr/bin/env bash
# Builds the peers `npm run bench:sidebyside` measures FlowTrace against, from the Go module proxy:
#
#   bench/peers/build.sh [otelcol]
#
# otelcol: the official OpenTelemetry Collector builder (ocb, go.opentelemetry.io/collector/cmd/builder,
# installed into ${FLOWTRACE_TOOLS_CACHE:-$HOME/.cache/flowtrace/tools}/ocb-<version>/builder) builds
# the distribution otelcol-builder.yaml describes into
# ${FLOWTRACE_PEERS_CACHE:-$HOME/.cache/flowtrace/peers}/otelcol-bench-<version>/otelcol-bench.
# The binary's absolute path is printed on stdout, everything else goes to stderr. A binary built
# from the same inputs (the manifest, this script, `go version`) is reused; FLOWTRACE_PEERS_REBUILD=1
# forces a rebuild. A cold build takes about 3 minutes on 2 cores (under `nice -n 10`).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PEERS=${FLOWTRACE_PEERS_CACHE:-${HOME:-/tmp}/.cache/flowtrace/peers}
TOOLS=${FLOWTRACE_TOOLS_CACHE:-${HOME:-/tmp}/.cache/flowtrace/tools}
VERSION=v0.165.0   # keep equal to the versions in otelcol-builder.yaml

log() { printf 'bench/peers/build.sh: %s\n' "$*" >&2; }
command -v go >/dev/null 2>&1 || { log "the go command is not on PATH: install Go >= 1.26 first"; exit 1; }

target=${1:-otelcol}
[[ "$target" == otelcol ]] || { log "unknown peer '$target' (want otelcol)"; exit 2; }

out="$PEERS/otelcol-bench-$VERSION"
bin="$out/otelcol-bench"
stamp="$out/.inputs"
mkdir -p "$out"
exec 9>"$out/.lock"
flock 9
hash=$( (cat "$HERE/otelcol-builder.yaml" "$HERE/build.sh"; go version) | sha256sum | cut -c1-16)
if [[ "${FLOWTRACE_PEERS_REBUILD:-0}" != 1 && -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$hash" ]]; then
  log "otelcol-bench $VERSION: cached"
  echo "$bin"
  exit 0
fi

builder="$TOOLS/ocb-$VERSION/builder"
if [[ ! -x "$builder" ]]; then
  log "installing the collector builder $VERSION ..."
  mkdir -p "$(dirname "$builder")"
  GOBIN="$(dirname "$builder")" CGO_ENABLED=0 nice -n 10 go install "go.opentelemetry.io/collector/cmd/builder@$VERSION"
fi

log "otelcol-bench $VERSION: building with the builder (cold builds take minutes) ..."
start=$SECONDS
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed "s|^dist:|dist:\n  output_path: $work/dist|" "$HERE/otelcol-builder.yaml" >"$work/manifest.yaml"
CGO_ENABLED=0 nice -n 10 "$builder" --config "$work/manifest.yaml" >"$work/builder.log" 2>&1 || { tail -20 "$work/builder.log" >&2; log "BUILD FAILED"; exit 1; }
mv -f "$work/dist/otelcol-bench" "$bin"
echo "$hash" >"$stamp"
log "otelcol-bench $VERSION: built in $((SECONDS - start))s"
echo "$bin"
