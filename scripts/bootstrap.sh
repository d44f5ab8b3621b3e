#!/usr/bin/env bash
# Builds the real control-plane binaries the tests run against (etcd, kube-apiserver,
# kube-controller-manager, kubectl, helm) from Go modules into a versioned cache, once per machine.
# Idempotent: a binary already in the cache is not rebuilt. Prints the tools directory last.
#
#   scripts/bootstrap.sh            build what is missing, print the bin directory
#   scripts/bootstrap.sh --print    print the bin directory without building
set -euo pipefail

ETCD_VERSION="${SWITCHBOARD_ETCD_VERSION:-v3.6.16}"
KUBE_VERSION="${SWITCHBOARD_KUBE_VERSION:-v1.34.4}"
HELM_VERSION="${SWITCHBOARD_HELM_VERSION:-v3.22.0}"

CACHE="${SWITCHBOARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/switchboard}"
TOOLS="$CACHE/tools/etcd-${ETCD_VERSION}_kube-${KUBE_VERSION}_helm-${HELM_VERSION}"
BIN="$TOOLS/bin"

if [[ "${1:-}" == "--print" ]]; then echo "$BIN"; exit 0; fi

log() { printf '[bootstrap] %s\n' "$*" >&2; }
die() { printf '[bootstrap] error: %s\n' "$*" >&2; exit 1; }

need_go() {
  command -v go >/dev/null 2>&1 || die "Go is not installed, and it is needed to build the missing tools. Install Go >= 1.24 (https://go.dev/doc/install, or Debian's golang-go where recent enough) and run again."
}

mkdir -p "$BIN"
export GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build" GOFLAGS="-mod=mod" CGO_ENABLED=0 GOTOOLCHAIN=local
export GOPATH="$CACHE/go/path"

# timed NAME CMD... — runs CMD, reports how long it took.
timed() {
  local name="$1"; shift
  need_go
  local start=$SECONDS
  log "building $name ..."
  "$@"
  log "built $name in $((SECONDS - start))s"
}

scratch() { local d; d="$(mktemp -d "$CACHE/scratch.XXXXXX")"; echo "$d"; }

build_etcd() {
  local dir; dir="$(scratch)"
  ( cd "$dir" && go mod init local/etcd >/dev/null 2>&1 \
    && go get "go.etcd.io/etcd/server/v3@${ETCD_VERSION}" \
    && go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3 )
  rm -rf "$dir"
}

build_kube() {
  local dir gomod minor staging
  dir="$(scratch)"
  gomod="$(cd "$dir" && go mod download -json "k8s.io/kubernetes@${KUBE_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  [[ -f "$gomod" ]] || die "could not download k8s.io/kubernetes@${KUBE_VERSION}"
  minor="${KUBE_VERSION#v1.}"                       # 34.4
  staging="v0.${minor}"                             # v0.34.4
  {
    echo "module local/kube"
    echo
    grep -E '^go [0-9]' "$gomod" | head -1
    grep -E '^godebug' "$gomod" || true
    echo
    # Every staging module that k8s.io/kubernetes requires at v0.0.0 is pinned to its release.
    awk -v v="$staging" '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print "replace " $1 " => " $1 " " v}' "$gomod" | sort -u
  } > "$dir/go.mod"
  local major="1" gminor="${minor%%.*}" date
  date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  local ld="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $pkg.gitVersion=${KUBE_VERSION} -X $pkg.gitMajor=${major} -X $pkg.gitMinor=${gminor}"
    ld+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=${date}"
  done
  ( cd "$dir" \
    && go get "k8s.io/kubernetes/cmd/kube-apiserver@${KUBE_VERSION}" "k8s.io/kubernetes/cmd/kube-controller-manager@${KUBE_VERSION}" \
              "k8s.io/kubernetes/cmd/kubectl@${KUBE_VERSION}" \
    && go build -trimpath -tags selinux,notest -ldflags "$ld" -o "$BIN/" \
         k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl )
  rm -rf "$dir"
}

build_helm() {
  GOBIN="$BIN" go install -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}" "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"
}

total=$SECONDS
[[ -x "$BIN/etcd" ]] && log "etcd ${ETCD_VERSION}: cached" || timed "etcd ${ETCD_VERSION}" build_etcd
if [[ -x "$BIN/kube-apiserver" && -x "$BIN/kube-controller-manager" && -x "$BIN/kubectl" ]]; then
  log "kube-apiserver, kube-controller-manager, kubectl ${KUBE_VERSION}: cached"
else
  timed "kube-apiserver + kube-controller-manager + kubectl ${KUBE_VERSION}" build_kube
fi
[[ -x "$BIN/helm" ]] && log "helm ${HELM_VERSION}: cached" || timed "helm ${HELM_VERSION}" build_helm
log "tools ready in $((SECONDS - total))s: $BIN"
echo "$BIN"
