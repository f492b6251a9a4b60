#!/usr/bin/env bash
# Puts a real Apache Kafka broker's jars (KRaft; kafka_2.13 + kafka-tools from Maven Central,
# pinned in pom.xml beside this script) into one directory and prints its absolute path:
#
#   test/peers/kafka/build.sh        ->  ${FLOWTRACE_PEERS_CACHE:-$HOME/.cache/flowtrace/peers}/kafka-<version>/lib
#
# Nothing is compiled: `mvn dependency:copy-dependencies` copies the jars (~55 MB, 92 jars) out of
# ~/.m2. The directory is reused while the .inputs stamp beside it (a hash of pom.xml, this
# script and `java -version`) matches; FLOWTRACE_PEERS_REBUILD=1 forces a fresh copy. Only the
# path goes to stdout; progress goes to stderr. Needs java >= 17 and mvn on PATH.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${FLOWTRACE_PEERS_CACHE:-${HOME:-/tmp}/.cache/flowtrace/peers}
KAFKA_VERSION=4.4.0   # keep equal to <kafka.version> in pom.xml

log() { printf 'peers/kafka/build.sh: %s\n' "$*" >&2; }

command -v java >/dev/null 2>&1 || { log "java is not on PATH: install a JDK >= 17 first"; exit 1; }
command -v mvn >/dev/null 2>&1 || { log "mvn is not on PATH: install Maven first"; exit 1; }

out="$CACHE/kafka-$KAFKA_VERSION"
lib="$out/lib"
stamp="$out/.inputs"
hash=$( (cat "$HERE/pom.xml" "$HERE/build.sh"; java -version 2>&1) | sha256sum | cut -c1-16)
mkdir -p "$out"

# One copy at a time, even with several test workers calling us at once.
exec 9>"$out/.lock"
flock 9

if [[ "${FLOWTRACE_PEERS_REBUILD:-0}" != 1 && -d "$lib" && -f "$stamp" && "$(cat "$stamp")" == "$hash" ]]; then
  log "kafka $KAFKA_VERSION: cached"
else
  log "kafka $KAFKA_VERSION: copying the broker's jars from Maven (a cold ~/.m2 downloads ~55 MB) ..."
  start=$SECONDS
  tmp="$lib.tmp.$$"
  rm -rf "$tmp"
  mvn -q -B -Dstyle.color=never -f "$HERE/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$tmp" -DincludeScope=runtime >&2 \
    || { rm -rf "$tmp"; log "kafka $KAFKA_VERSION: mvn dependency:copy-dependencies FAILED"; exit 1; }
  rm -rf "$lib"
  mv "$tmp" "$lib"
  echo "$hash" >"$stamp"
  log "kafka $KAFKA_VERSION: $(ls "$lib" | wc -l) jars, $(du -sh "$lib" | cut -f1), in $((SECONDS - start))s"
fi
exec 9>&-
echo "$lib"
