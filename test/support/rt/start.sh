#!/usr/bin/env bash
# Start a private Request Tracker 5 (REST2) for tests: its own copy of the SQLite database and its
# own site config in DIR, standalone rt-server on PORT. Prints the PID of the server on stdout once
# REST2 answers. Usage: start.sh DIR PORT
set -euo pipefail
DIR=$1
PORT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
"$HERE/install.sh" >&2
PRISTINE=/var/lib/dbconfig-common/sqlite3/request-tracker5/rtdb
mkdir -p "$DIR/site.d"
cp "$PRISTINE" "$DIR/rtdb"
chmod 600 "$DIR/rtdb"
cat >"$DIR/RT_SiteConfig.pm" <<PERL
Set(\$rtname, 'hub-test');
Set(\$Organization, 'hub-test');
Set(\$WebDomain, '127.0.0.1');
Set(\$WebPort, $PORT);
Set(\$WebPath, '');
Set(\$WebBaseURL, 'http://127.0.0.1:$PORT');
Set(\$DatabaseType, 'SQLite');
Set(\$DatabaseName, '$DIR/rtdb');
Set(\$LogToSTDERR, 'warning');
Set(\$LogToSyslog, '');
Set(\$LogToFile, '');
Set(\$Timezone, 'UTC');
# No mail leaves a test run.
Set(\$MailCommand, 'mbox');
Set(\$LogDir, '$DIR');
1;
PERL
RT_SITE_CONFIG="$DIR/RT_SiteConfig.pm" RT_SITE_CONFIG_DIR="$DIR/site.d" \
  setsid /usr/share/request-tracker5/libexec/rt-server --port "$PORT" >"$DIR/rt-server.log" 2>&1 &
PID=$!
for _ in $(seq 1 120); do
  if curl -sf -u root:password "http://127.0.0.1:$PORT/REST/2.0/queues/all" >/dev/null 2>&1; then
    echo "$PID"
    exit 0
  fi
  if ! kill -0 "$PID" 2>/dev/null; then
    echo "start-rt: rt-server exited; log follows" >&2
    tail -30 "$DIR/rt-server.log" >&2
    exit 1
  fi
  sleep 0.5
done
echo "start-rt: REST2 did not answer within 60 s" >&2
kill "$PID" 2>/dev/null || true
exit 1
