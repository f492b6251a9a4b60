#!/usr/bin/env bash
# Builds the real command-line tools that FlowTrace's deployment tests drive (Helm, Docker
# Compose, istioctl, etcd, kube-apiserver, kubectl), from the Go module proxy, with the pinned
# go.mod/go.sum files beside this script (one small module per tool, each naming its upstream
# `main` package with a `tool` directive).
#
#   test/tools/build.sh [helm|compose|istioctl|etcd|kube-apiserver|kubectl|servicemonitor-crd|all]   (default: all)
#
# servicemonitor-crd is not a program: it is the prometheus-operator's ServiceMonitor
# CustomResourceDefinition (a YAML file of that Go module, fetched through the proxy and checked
# against go.sum), for the chart's optional ServiceMonitor.
#
# Each binary lands in ${FLOWTRACE_TOOLS_CACHE:-$HOME/.cache/flowtrace/tools}/<name>-<version>/<name>
# (outside the repository), and the script prints its absolute path, one line per tool, on
# stdout; everything else goes to stderr. A binary that is already there, built from the same
# inputs (go.mod, go.sum, this script, `go version`: see the .inputs stamp next to it), is
# reused. FLOWTRACE_TOOLS_REBUILD=1 forces a rebuild.
#
# Builds run under `nice -n 10` (the machine is small and shared) with CGO_ENABLED=0 and
# -trimpath -mod=readonly -buildvcs=false, so the same inputs give the same binary. A cold build
# of all six (empty module and build caches) took ~8.5 min on 2 cores, filling ~2.0 GB of module
# cache and ~6.3 GB of build cache; kube-apiserver is the slow one (~4 min). Details: README.md.
# No GOTOOLCHAIN is needed: every module builds with Go 1.26.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${FLOWTRACE_TOOLS_CACHE:-${HOME:-/tmp}/.cache/flowtrace/tools}
TOOLS="helm compose istioctl etcd kube-apiserver kubectl servicemonitor-crd"

log() { printf 'tools/build.sh: %s\n' "$*" >&2; }

command -v go >/dev/null 2>&1 || { log "the go command is not on PATH: install Go >= 1.26 first"; exit 1; }

# name -> version (part of the cache dir name; bump it together with go.mod)
tool_version() {
  case "$1" in
    helm) echo "v4.3.2" ;;                       # helm.sh/helm/v4 v4.3.2
    compose) echo "v5.6.0" ;;                    # github.com/docker/compose/v5 v5.6.0
    istioctl) echo "1.31-dev-eed52ebb66ad" ;;    # istio.io/istio v0.0.0-20260827124520-eed52ebb66ad (master, VERSION 1.31)
    etcd) echo "v3.7.3" ;;                       # go.etcd.io/etcd/server/v3 v3.7.3
    kube-apiserver | kubectl) echo "v1.37.2" ;;  # k8s.io/kubernetes v1.37.2, staging modules k8s.io/* v0.37.2
    servicemonitor-crd) echo "v0.85.0" ;;        # github.com/prometheus-operator/prometheus-operator v0.85.0
    *) return 1 ;;
  esac
}

# name -> the upstream main package (the `tool` line of its go.mod)
tool_package() {
  case "$1" in
    helm) echo "helm.sh/helm/v4/cmd/helm" ;;
    compose) echo "github.com/docker/compose/v5/cmd" ;;
    istioctl) echo "istio.io/istio/istioctl/cmd/istioctl" ;;
    etcd) echo "go.etcd.io/etcd/server/v3" ;;
    kube-apiserver) echo "k8s.io/kubernetes/cmd/kube-apiserver" ;;
    kubectl) echo "k8s.io/kubernetes/cmd/kubectl" ;;
  esac
}

# name -> -ldflags: the version stamps each project's own release build sets (so `helm version`,
# `kubectl version` etc. tell the truth, and kubectl/kube-apiserver see no version skew).
tool_ldflags() {
  local v
  v=$(tool_version "$1")
  case "$1" in
    helm) echo "-s -w -X helm.sh/helm/v4/internal/version.version=$v" ;;
    compose) echo "-s -w -X github.com/docker/compose/v5/internal.Version=$v" ;;
    istioctl) echo "-s -w -X istio.io/istio/pkg/version.buildVersion=1.31-dev -X istio.io/istio/pkg/version.buildGitRevision=eed52ebb66ad -X istio.io/istio/pkg/version.buildStatus=Clean" ;;
    kube-apiserver | kubectl)
      local c=k8s.io/component-base/version
      echo "-s -w -X $c.gitVersion=$v -X $c.gitMajor=1 -X $c.gitMinor=37 -X $c.gitTreeState=clean" ;;
    *) echo "-s -w" ;;
  esac
}

inputs_hash() {
  local dir=$1
  (cd "$dir" && cat go.mod go.sum $(ls ./*.go 2>/dev/null) "$HERE/build.sh" && go version) | sha256sum | cut -c1-16
}

# Copies the ServiceMonitor CRD out of the prometheus-operator module (downloaded and verified
# against test/tools/prometheus-operator/go.sum) to $1.
fetch_servicemonitor_crd() {
  local moddir
  moddir=$(cd "$HERE/prometheus-operator" && GOFLAGS=-mod=readonly go mod download -json github.com/prometheus-operator/prometheus-operator |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -n "$moddir" ]] || { log "servicemonitor-crd: go mod download gave no module directory"; return 1; }
  cp "$moddir/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml" "$1"
  chmod 0644 "$1"
}

build_one() {
  local name=$1 version dir out bin stamp hash
  version=$(tool_version "$name") || { log "unknown tool '$name' (want one of: $TOOLS, all)"; exit 2; }
  dir="$HERE/$name"
  [[ "$name" == servicemonitor-crd ]] && dir="$HERE/prometheus-operator"
  out="$CACHE/$name-$version"
  bin="$out/$name"
  stamp="$out/.inputs"
  hash=$(inputs_hash "$dir")
  mkdir -p "$out"

  # One build at a time per tool, even with several test workers calling us at once.
  exec 9>"$out/.lock"
  flock 9

  if [[ "${FLOWTRACE_TOOLS_REBUILD:-0}" != 1 && -s "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$hash" ]]; then
    log "$name $version: cached"
  else
    log "$name $version: building (cold builds take minutes) ..."
    local start=$SECONDS tmp="$bin.tmp.$$"
    if [[ "$name" == servicemonitor-crd ]]; then
      fetch_servicemonitor_crd "$tmp" || { rm -f "$tmp"; log "$name $version: FETCH FAILED"; exit 1; }
    else
      (
        cd "$dir"
        export CGO_ENABLED=0
        export GOFLAGS="${GOFLAGS:+$GOFLAGS }-trimpath -mod=readonly -buildvcs=false"
        nice -n 10 go build -ldflags="$(tool_ldflags "$name")" -o "$tmp" "$(tool_package "$name")"
      ) || { rm -f "$tmp"; log "$name $version: BUILD FAILED"; exit 1; }
    fi
    mv -f "$tmp" "$bin"
    echo "$hash" >"$stamp"
    log "$name $version: built in $((SECONDS - start))s, $(du -h "$bin" | cut -f1)"
  fi
  exec 9>&-
  echo "$bin"
}

target=${1:-all}
case "$target" in
  all) for t in $TOOLS; do build_one "$t"; done ;;
  *) build_one "$target" ;;
esac
