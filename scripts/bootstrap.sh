#!/usr/bin/env bash
# Builds the real control-plane binaries the tests run against (etcd, kube-apiserver,
# kube-controller-manager, kubectl, helm) and the parts of a local node (kubelet, kube-proxy,
# kube-scheduler, CoreDNS, the pause program) and nats-server (JetStream, for durable delivery)
# from Go modules into a versioned cache, once per machine. Idempotent: a binary already in the cache is not rebuilt. Prints the tools directory last.
#
#   scripts/bootstrap.sh            build what is missing, print the bin directory
#   scripts/bootstrap.sh --print    print the bin directory without building
set -euo pipefail

ETCD_VERSION="${SWITCHBOARD_ETCD_VERSION:-v3.6.16}"
KUBE_VERSION="${SWITCHBOARD_KUBE_VERSION:-v1.34.4}"
HELM_VERSION="${SWITCHBOARD_HELM_VERSION:-v3.22.0}"
COREDNS_VERSION="${SWITCHBOARD_COREDNS_VERSION:-v1.15.0}"
NATS_VERSION="${SWITCHBOARD_NATS_VERSION:-v2.15.3}"

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

# kube_module DIR — writes DIR/go.mod: a scratch module that pins every staging module
# k8s.io/kubernetes requires at v0.0.0 to its release (go install refuses their replace lines).
kube_module() {
  local dir="$1" gomod
  gomod="$(cd "$dir" && go mod download -json "k8s.io/kubernetes@${KUBE_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  [[ -f "$gomod" ]] || die "could not download k8s.io/kubernetes@${KUBE_VERSION}"
  {
    echo "module local/kube"
    echo
    grep -E '^go [0-9]' "$gomod" | head -1
    grep -E '^godebug' "$gomod" || true
    echo
    awk -v v="v0.${KUBE_VERSION#v1.}" '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print "replace " $1 " => " $1 " " v}' "$gomod" | sort -u
  } > "$dir/go.mod"
}

# kube_ldflags — the version stamps a release build has (without them: v0.0.0-master).
kube_ldflags() {
  local minor="${KUBE_VERSION#v1.}" date ld="-s -w"
  date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $pkg.gitVersion=${KUBE_VERSION} -X $pkg.gitMajor=1 -X $pkg.gitMinor=${minor%%.*}"
    ld+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=${date}"
  done
  echo "$ld"
}

# build_kube_cmds CMD... — builds k8s.io/kubernetes/cmd/<CMD> for each CMD into BIN.
build_kube_cmds() {
  local dir pkgs=() ld
  dir="$(scratch)"
  kube_module "$dir"
  for cmd in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/$cmd"); done
  ld="$(kube_ldflags)"
  ( cd "$dir" \
    && go get "${pkgs[@]/%/@${KUBE_VERSION}}" \
    && go build -trimpath -tags selinux,notest -ldflags "$ld" -o "$BIN/" "${pkgs[@]}" )
  rm -rf "$dir"
}

build_kube() { build_kube_cmds kube-apiserver kube-controller-manager kubectl; }
build_node() { build_kube_cmds kubelet kube-proxy kube-scheduler; }

build_coredns() {
  GOBIN="$BIN" go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@${COREDNS_VERSION}"
  echo "${COREDNS_VERSION}" > "$BIN/coredns.version"
}

# gcc and glibc's headers: they build the pause program here, and the gateway's Node-API module in
# `npm run build` and `npm run image` (scripts/image/compile.ts). Debian's packages, installed when
# missing and this runs as root with apt-get.
ensure_cc() {
  command -v gcc >/dev/null 2>&1 && [[ -f /usr/include/malloc.h ]] && return 0
  if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing gcc and libc6-dev (Debian's packages)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc libc6-dev
  else
    die "gcc and glibc's headers are not installed, and they are needed to build the pause program and the gateway's Node-API module. Install them (Debian: apt-get install gcc libc6-dev) and run again."
  fi
}

# The pod sandbox's program, from the pause.c that k8s.io/kubernetes ships (a static C binary).
build_pause() {
  local src
  src="$(go mod download -json "k8s.io/kubernetes@${KUBE_VERSION}" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')/build/pause/linux/pause.c"
  [[ -f "$src" ]] || die "pause.c not found in k8s.io/kubernetes@${KUBE_VERSION}"
  gcc -Os -Wall -static -DVERSION="${KUBE_VERSION}" -o "$BIN/pause" "$src"
  strip "$BIN/pause"
}

build_nats() {
  GOBIN="$BIN" go install -trimpath -ldflags "-s -w" "github.com/nats-io/nats-server/v2@${NATS_VERSION}"
  echo "${NATS_VERSION}" > "$BIN/nats-server.version"
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
if [[ -x "$BIN/kubelet" && -x "$BIN/kube-proxy" && -x "$BIN/kube-scheduler" ]]; then
  log "kubelet, kube-proxy, kube-scheduler ${KUBE_VERSION}: cached"
else
  timed "kubelet + kube-proxy + kube-scheduler ${KUBE_VERSION}" build_node
fi
if [[ -x "$BIN/coredns" && "$(cat "$BIN/coredns.version" 2>/dev/null)" == "${COREDNS_VERSION}" ]]; then
  log "coredns ${COREDNS_VERSION}: cached"
else
  timed "coredns ${COREDNS_VERSION}" build_coredns
fi
ensure_cc
[[ -x "$BIN/pause" ]] && log "pause ${KUBE_VERSION}: cached" || timed "pause ${KUBE_VERSION}" build_pause
if [[ -x "$BIN/nats-server" && "$(cat "$BIN/nats-server.version" 2>/dev/null)" == "${NATS_VERSION}" ]]; then
  log "nats-server ${NATS_VERSION}: cached"
else
  timed "nats-server ${NATS_VERSION}" build_nats
fi
log "tools ready in $((SECONDS - total))s: $BIN"
echo "$BIN"
