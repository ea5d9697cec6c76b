#!/usr/bin/env bash
# SCIM 2.0 conformance: the public checker scim2-tester (run through scim2-cli) against a
# freshly started `roster serve`, once on a new SQLite database and once on a new
# PostgreSQL database. Exits non-zero when any check is not SUCCESS.
#
#   scripts/scim-conformance.sh            both backends
#   scripts/scim-conformance.sh sqlite     one of them (sqlite or postgres)
#
# ROSTER_TEST_POSTGRES_URL names the PostgreSQL server (any database on it; this script
# creates and drops one of its own): default postgres://postgres@127.0.0.1:5432/test.
# ROSTER_BIN runs a prebuilt binary instead of building target/debug/roster.
# Runs unattended: no TTY, one summary line per backend, the full report in
# target/scim-conformance/.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK="$ROOT/target/scim-conformance"
VENV="$WORK/venv"
PG_URL=${ROSTER_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
# The checker and what it is built on, pinned so that a new release cannot change the verdict.
PINS=(scim2-cli==0.6.0 scim2-tester==0.5.2 scim2-client==0.13.2 scim2-models==0.12.3)
BACKENDS=("${@:-sqlite postgres}")
read -r -a BACKENDS <<<"${BACKENDS[*]}"

mkdir -p "$WORK"

installed() {
  local frozen pin
  "$VENV/bin/scim2" --help >/dev/null 2>&1 || return 1
  frozen=$("$VENV/bin/pip" freeze 2>/dev/null) || return 1
  for pin in "${PINS[@]}"; do
    grep -qx "$pin" <<<"$frozen" || return 1
  done
}

if ! installed; then
  echo "scim-conformance: installing ${PINS[*]} into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PINS[@]}"
fi

if [[ -n "${ROSTER_BIN:-}" ]]; then
  BIN=$ROSTER_BIN
else
  (cd "$ROOT" && cargo build --quiet -p roster)
  BIN="$ROOT/target/debug/roster"
fi

SERVER_PID=""
PG_DB=""
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
  if [[ -n "$PG_DB" ]]; then
    psql "$PG_URL" -qAt -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
    PG_DB=""
  fi
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# The URL of database $2 on the server of URL $1.
with_database() {
  local url=$1 name=$2 base query=""
  base=${url%%\?*}
  [[ "$url" == *\?* ]] && query="?${url#*\?}"
  echo "${base%/*}/$name$query"
}

# Runs the checker against a fresh server on database URL $2; prints one summary line.
check() {
  local backend=$1 url=$2 port token log report total passed
  log="$WORK/$backend-server.log"
  report="$WORK/$backend-report.txt"
  "$BIN" --database-url "$url" migrate >"$log" 2>&1
  token=$("$BIN" --database-url "$url" token create --name scim-conformance --role superadmin 2>>"$log")
  port=$(free_port)
  ROSTER_LOG=${ROSTER_LOG:-warn} "$BIN" --database-url "$url" serve --listen "127.0.0.1:$port" >>"$log" 2>&1 </dev/null &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "scim-conformance $backend: FAILED: the server did not start (see $log)"
      return 1
    fi
    sleep 0.1
  done
  local status=0
  SCIM_CLI_HEADERS="Authorization: Bearer $token" NO_COLOR=1 \
    "$VENV/bin/scim2" --url "http://127.0.0.1:$port/scim/v2" test </dev/null >"$report" 2>&1 || status=$?
  cleanup
  # Each check is one line: its status, then its title.
  total=$(grep -cE '^(SUCCESS|COMPLIANT|ACCEPTABLE|DEVIATION|ERROR|CRITICAL|SKIPPED) ' "$report" || true)
  passed=$(grep -cE '^SUCCESS ' "$report" || true)
  if [[ "$status" -eq 0 && "$total" -gt 0 && "$passed" -eq "$total" ]]; then
    echo "scim-conformance $backend: $passed of $total checks SUCCESS"
    return 0
  fi
  echo "scim-conformance $backend: FAILED: $passed of $total checks SUCCESS (exit $status; report: $report)"
  grep -A2 -E '^(COMPLIANT|ACCEPTABLE|DEVIATION|ERROR|CRITICAL|SKIPPED) ' "$report" | head -40 | sed 's/^/  /'
  return 1
}

failed=0
for backend in "${BACKENDS[@]}"; do
  case "$backend" in
    sqlite)
      db="$WORK/sqlite-$$.db"
      rm -f "$db" "$db-wal" "$db-shm"
      check sqlite "sqlite://$db" || failed=1
      rm -f "$db" "$db-wal" "$db-shm"
      ;;
    postgres)
      PG_DB="roster_scim_conformance_$$"
      if ! psql "$PG_URL" -qAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE $PG_DB" >/dev/null; then
        echo "scim-conformance postgres: FAILED: cannot create a database on $PG_URL"
        PG_DB=""
        failed=1
        continue
      fi
      check postgres "$(with_database "$PG_URL" "$PG_DB")" || failed=1
      cleanup
      ;;
    *)
      echo "scim-conformance: unknown backend \"$backend\" (sqlite or postgres)"
      failed=1
      ;;
  esac
done
exit "$failed"
