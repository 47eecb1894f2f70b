#!/usr/bin/env bash
# Schemathesis against our own OpenAPI document: generated requests for every operation, signed in
# as the district admin, on a fresh small demo; fails on any server error (5xx). Bounded: a few
# examples per operation and a wall-clock limit, so CI stays quick.
#
#   e2e/schemathesis.sh [PATH_TO_GONGZHI_BINARY]
#
# Installs schemathesis with pip into ~/.cache/gongzhi-schemathesis when missing. Starts the demo
# on a throw-away SQLite file bound to 127.0.0.1 on a free port and always stops it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${1:-$ROOT/target/debug/gongzhi}"
[[ "$BIN" = /* ]] || BIN="$PWD/$BIN"
[[ -x "$BIN" ]] || { echo "[schemathesis] no binary at $BIN (cargo build first)" >&2; exit 2; }
log() { printf '[schemathesis] %s\n' "$*" >&2; }

VENV="${GONGZHI_SCHEMATHESIS_VENV:-$HOME/.cache/gongzhi-schemathesis}"
if [[ ! -x "$VENV/bin/schemathesis" ]]; then
  log "installing schemathesis into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check 'schemathesis>=4,<5'
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/gongzhi-st.XXXXXX")"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
URL="http://127.0.0.1:$PORT"
"$BIN" demo --scale small --database-url "sqlite://$TMP/st.db" --data-dir "$TMP/data" --listen "127.0.0.1:$PORT" >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 240); do
  curl -fsS -o /dev/null --max-time 2 "$URL/healthz" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.log" >&2; exit 2; }
  sleep 0.5
done
TOKEN="$(curl -fsS -X POST -H 'content-type: application/json' \
  -d '{"username":"admin","password":"gongzhi-demo"}' "$URL/api/v1/auth/login" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')"

# Left out: logout and password change would end or change the token every other call uses, and
# generated sign-ins would lock accounts by design (the throttle).
status=0
timeout "${GONGZHI_SCHEMATHESIS_SECONDS:-300}" "$VENV/bin/schemathesis" run "$URL/api/v1/openapi.json" \
  --url "$URL" \
  -H "Authorization: Bearer $TOKEN" \
  --checks not_a_server_error \
  --max-examples "${GONGZHI_SCHEMATHESIS_EXAMPLES:-10}" \
  --exclude-path /api/v1/auth/logout \
  --exclude-path /api/v1/auth/login \
  --exclude-path /api/v1/me/password \
  --suppress-health-check all \
  --no-color || status=$?
if [[ $status -ne 0 ]]; then
  log "failed (exit $status); server log tail:"
  tail -n 40 "$TMP/server.log" >&2 || true
fi
exit "$status"
