#!/usr/bin/env bash
# Builds actionlint (the GitHub Actions workflow linter) from the Go module proxy, as
# test/tools/build.sh builds its tools: `go install` of the pinned version (its module's go.sum,
# checked against sum.golang.org), under nice, CGO off, -trimpath, into
# ${FLOWTRACE_TOOLS_CACHE:-~/.cache/flowtrace/tools}/actionlint-<version>/actionlint, reused while
# the stamp (version, this script, `go version`) is the same. Prints the binary's absolute path
# on stdout; everything else goes to stderr. FLOWTRACE_TOOLS_REBUILD=1 forces a rebuild.
set -euo pipefail

VERSION=v1.7.12
PACKAGE=github.com/rhysd/actionlint/cmd/actionlint
CACHE=${FLOWTRACE_TOOLS_CACHE:-${HOME:-/tmp}/.cache/flowtrace/tools}
OUT="$CACHE/actionlint-$VERSION"
BIN="$OUT/actionlint"

log() { printf 'build-actionlint.sh: %s\n' "$*" >&2; }
command -v go >/dev/null 2>&1 || { log "the go command is not on PATH: install Go first"; exit 1; }

stamp=$( { echo "$PACKAGE@$VERSION"; sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1; go version; } | sha256sum | cut -d' ' -f1)
if [[ "${FLOWTRACE_TOOLS_REBUILD:-0}" != 1 && -s "$BIN" && -f "$OUT/.inputs" && "$(cat "$OUT/.inputs")" == "$stamp" ]]; then
  echo "$BIN"
  exit 0
fi

mkdir -p "$OUT"
tmp=$(mktemp -d "$OUT/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log "building $PACKAGE@$VERSION from the Go module proxy"
CGO_ENABLED=0 GOBIN="$tmp" GOFLAGS="-trimpath -buildvcs=false" nice -n 10 go install "$PACKAGE@$VERSION" >&2
mv "$tmp/actionlint" "$BIN"
echo "$stamp" >"$OUT/.inputs"
"$BIN" -version >&2
echo "$BIN"
