#!/usr/bin/env bash
# Install Request Tracker 5 with its SQLite backend (Debian package), non-interactively.
# Used by .ci/run and by test/support/rt/start.sh; a no-op when it is already installed.
# Exit status 0 when rt-server is available afterwards.
set -euo pipefail
RT_SERVER=/usr/share/request-tracker5/libexec/rt-server
if [ -x "$RT_SERVER" ] && [ -f /var/lib/dbconfig-common/sqlite3/request-tracker5/rtdb ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-rt: request-tracker5 is missing and this user cannot install packages" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-cache policy request-tracker5 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  apt-get update -qq
fi
# dbconfig-common creates and populates the SQLite database during the install.
echo "request-tracker5 request-tracker5/dbconfig-install boolean true" | debconf-set-selections
timeout "${RT_INSTALL_TIMEOUT_S:-900}" apt-get install -y -qq --no-install-recommends \
  request-tracker5 rt5-db-sqlite >/tmp/install-rt.log 2>&1 || {
  echo "install-rt: apt-get install failed; see /tmp/install-rt.log" >&2
  tail -20 /tmp/install-rt.log >&2
  exit 1
}
[ -x "$RT_SERVER" ]
