#!/usr/bin/env bash
# Set-up and run on a fresh machine in one command: `scripts/dev.sh start` (the hub on embedded
# defaults) or `scripts/dev.sh test` (the test suite). Provides Node.js 24 (scripts/node24.sh), installs
# exactly the committed lockfile with `npm ci` when node_modules is missing or older than the lock,
# then runs `npm start` or `npm test`. Further arguments go to that command.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
  start | test) ;;
  *) echo "usage: scripts/dev.sh start|test [args...]" >&2; exit 2 ;;
esac
what="$1"
shift

# node_modules/.package-lock.json is what npm wrote at the last install; a newer lockfile means a pull
# changed the dependencies.
run='if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci; fi
exec npm "$@"'
exec scripts/node24.sh bash -c "$run" npm-run "$what" ${1:+--} "$@"
