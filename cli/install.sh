#!/usr/bin/env bash
# Installs the kubectl plugin from this repository: writes `kubectl-switchboard` (the plugin) and
# `kubectl_complete-switchboard` (what kubectl runs to complete `kubectl switchboard <TAB>`) into
# DIR, default ~/.local/bin. Both run cli/main.ts of this checkout with Node >= 24
# (scripts/node24.sh: the machine's node when new enough, else Node 24 fetched once into a cache).
#
#   npm run plugin:install [-- --dir DIR]
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="${HOME}/.local/bin"
while (($# > 0)); do
  case "$1" in
    --dir) dir="${2:?--dir needs a directory}"; shift 2 ;;
    --dir=*) dir="${1#--dir=}"; shift ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "plugin:install: unknown argument $1 (usage: npm run plugin:install -- [--dir DIR])" >&2; exit 2 ;;
  esac
done

# Fetch Node 24 now if it is needed, so the first kubectl switchboard does not wait for it.
bash "$repo/scripts/node24.sh" --version >/dev/null
[[ -d "$repo/node_modules/@kubernetes/client-node" ]] || { echo "plugin:install: run npm ci in $repo first" >&2; exit 1; }

mkdir -p "$dir"
write() {
  local file="$dir/$1" tmp
  tmp="$(mktemp "$dir/.$1.XXXXXX")"
  printf '#!/usr/bin/env bash\n# %s: written by npm run plugin:install in %s\nexec bash %q %q %s"$@"\n' \
    "$1" "$repo" "$repo/scripts/node24.sh" "$repo/cli/main.ts" "$2" >"$tmp"
  chmod 755 "$tmp"
  mv -f "$tmp" "$file"
}
write kubectl-switchboard ""
write kubectl_complete-switchboard "__complete "
echo "installed $dir/kubectl-switchboard and $dir/kubectl_complete-switchboard (running $repo/cli/main.ts)"
case ":$PATH:" in
  *":$dir:"*) ;;
  *) echo "$dir is not on PATH: add it (export PATH=\"$dir:\$PATH\") so kubectl finds the plugin" ;;
esac
