#!/usr/bin/env bash
# Run the browser end-to-end tests against a fresh demo server.
#
#   e2e/run.sh [PATH_TO_GONGZHI_BINARY]
#
# Default binary: target/release/gongzhi if it exists, else target/debug/gongzhi
# (relative to the repository root; build it first with `cargo build`).
# Works from any directory. Installs Chromium (and a CJK font, so screenshots
# are legible) with apt-get when missing, and the npm dependencies with
# `npm ci` when e2e/node_modules is missing. Starts `gongzhi demo --scale small`
# on a throw-away SQLite file bound to 127.0.0.1 on a free port, runs
# `node --test e2e/*.test.mjs` (or the files in GONGZHI_E2E_ONLY), and always stops the
# server and deletes the database. Exits with the test run's exit code.
# Screenshots: e2e/screenshots/.
set -euo pipefail

E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$E2E_DIR/.." && pwd)"

log() { printf '[e2e] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

# --- the binary ---------------------------------------------------------------
if [[ $# -ge 1 && -n "$1" ]]; then
  BIN="$1"
  [[ "$BIN" = /* ]] || BIN="$PWD/$BIN"
elif [[ -x "$ROOT/target/release/gongzhi" ]]; then
  BIN="$ROOT/target/release/gongzhi"
else
  BIN="$ROOT/target/debug/gongzhi"
fi
[[ -x "$BIN" ]] || die "no gongzhi binary at $BIN (run 'cargo build' in $ROOT, or pass the binary's path)"
log "binary: $BIN"

# --- Chromium and fonts ---------------------------------------------------------
SUDO=""
if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null; then SUDO="sudo"; fi
apt_updated=""
apt_install() {
  if [[ -z "$apt_updated" ]]; then $SUDO apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}
CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [[ ! -x "$CHROMIUM_PATH" ]]; then
  log "installing chromium (apt-get)"
  apt_install chromium
fi
if ! { command -v fc-list >/dev/null && [[ -n "$(fc-list :lang=zh 2>/dev/null)" ]]; }; then
  log "installing a CJK font (apt-get fonts-noto-cjk) so screenshots show Chinese text"
  apt_install fonts-noto-cjk || log "warning: could not install fonts-noto-cjk; screenshots may show boxes"
fi
export CHROMIUM_PATH

# --- npm dependencies -----------------------------------------------------------
if [[ ! -d "$E2E_DIR/node_modules" ]]; then
  log "npm ci in $E2E_DIR"
  (cd "$E2E_DIR" && npm ci --no-audit --no-fund --loglevel=error)
fi

# --- the server -------------------------------------------------------------------
TMP="$(mktemp -d "${TMPDIR:-/tmp}/gongzhi-e2e.XXXXXX")"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PORT="$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
URL="http://127.0.0.1:$PORT"
DB="$TMP/gongzhi-e2e.db"
SERVER_LOG="$TMP/server.log"

log "starting demo server on $URL (database $DB)"
"$BIN" demo --scale small --database-url "sqlite://$DB" --listen "127.0.0.1:$PORT" >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!

deadline=$((SECONDS + 120))
until curl -fsS -o /dev/null --max-time 2 "$URL/healthz" 2>/dev/null; do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    log "server exited before becoming healthy; its log:"
    cat "$SERVER_LOG" >&2
    exit 2
  fi
  if ((SECONDS >= deadline)); then
    log "server not healthy at $URL/healthz after 120 s; its log:"
    tail -n 50 "$SERVER_LOG" >&2
    exit 2
  fi
  sleep 0.5
done
log "server healthy after ${SECONDS}s"

# --- the tests --------------------------------------------------------------------
status=0
(cd "$ROOT" && GONGZHI_E2E_URL="$URL" node --test ${GONGZHI_E2E_ONLY:-e2e/*.test.mjs}) || status=$?
if [[ $status -ne 0 ]]; then
  log "tests failed (exit $status); server log tail:"
  tail -n 30 "$SERVER_LOG" >&2 || true
fi
log "screenshots in $E2E_DIR/screenshots"
exit "$status"
