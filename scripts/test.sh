#!/usr/bin/env bash
# Runs every test: unit and database tests (cargo test against a real throwaway PostgreSQL with
# pgvector), then the Playwright suite in Debian's chromium against a release build.
# Installs what is missing; exits non-zero on any failure.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DB_PORT="${SMARTCRM_TEST_DB_PORT:-55433}"
APP_PORT="${SMARTCRM_TEST_APP_PORT:-3100}"
LOCAL_APP_PORT="${SMARTCRM_TEST_LOCAL_APP_PORT:-3101}"
PGDIR="$DATA/test-pg"
MOCK_PORT="${SMARTCRM_TEST_MOCK_LLM_PORT:-3199}"
SERVER_PID=""
LOCAL_SERVER_PID=""
MOCK_PID=""

cleanup() {
  if [ -n "$MOCK_PID" ] && kill -0 "$MOCK_PID" 2>/dev/null; then
    kill -TERM "$MOCK_PID" 2>/dev/null || true
  fi
  for pid in "$SERVER_PID" "$LOCAL_SERVER_PID"; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  pg_stop "$PGDIR"
  rm -rf "$PGDIR"
}
trap cleanup EXIT

ensure_rust_tools
ensure_node_deps
ensure_apt chromium chromium
ensure_models
# Tests read the local models from here (the app, the HTTP tests and the model tests alike).
export SMARTCRM_MODELS_DIR="$MODELS_DIR"
if [ ! -x "$ROOT/end2end/node_modules/.bin/playwright" ] || [ "$ROOT/end2end/package-lock.json" -nt "$ROOT/end2end/node_modules/.package-lock.json" ]; then
  log "installing end2end npm packages"
  (cd "$ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi

# A throwaway cluster: fsync off, removed at exit.
pg_stop "$PGDIR"; rm -rf "$PGDIR"
PG_FSYNC=off pg_start "$PGDIR" "$DB_PORT"
# The owner: the query macros and the database tests (which create a database each) use it.
PGURL="postgres://smartcrm:$(pg_secret pg-owner)@127.0.0.1:$DB_PORT"

# The query macros check every SQL statement against a database migrated from migrations/,
# and write the query data to .sqlx so release builds need no database.
pg_create_db "$DB_PORT" compile
for f in "$ROOT"/migrations/*.sql; do
  pgsql -v ON_ERROR_STOP=1 -p "$DB_PORT" -d compile -qf "$f" >/dev/null
done

log "cargo test (unit, database and HTTP tests)"
cd "$ROOT"
# A CI machine builds once from cold: incremental caches would only take disk (gigabytes here).
if [ "${CI:-}" = "true" ]; then export CARGO_INCREMENTAL=0; fi
export DATABASE_URL="$PGURL/compile" SQLX_OFFLINE_DIR="$ROOT/.sqlx"
cargo test -p app --features ssr
cargo test -p server
unset SQLX_OFFLINE_DIR

if [ -n "$(git -C "$ROOT" status --porcelain -- .sqlx 2>/dev/null)" ]; then
  if [ "${CI:-}" = "true" ]; then
    git -C "$ROOT" status --short -- .sqlx >&2
    die ".sqlx is out of date with the queries: run scripts/test.sh locally and commit .sqlx"
  fi
  log "note: .sqlx was updated from the queries; commit it"
fi

build_site_release

# The browser tests' stand-in for the external LLM provider (the suite's only test double).
node "$ROOT/end2end/mock-llm.mjs" &
MOCK_PID=$!

log "starting the release build on 127.0.0.1:$APP_PORT for the browser tests"
pg_create_db "$DB_PORT" e2e
pg_urls "$DB_PORT" e2e
# Live-update streams end after 15 s here (10 min by default), so the walkthroughs cross a
# stream's end and reopening; the board's live test cuts the reopening to see "Reconnecting…".
SMARTCRM_ADDR="127.0.0.1:$APP_PORT" \
OPENAI_BASE_URL="http://127.0.0.1:$MOCK_PORT/v1" SMARTCRM_AI_BACKOFF_MS=50 \
SMARTCRM_LIVE_STREAM_MAX_AGE_SECS=15 \
LEPTOS_OUTPUT_NAME=smartcrm LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg LEPTOS_ENV=PROD \
RUST_LOG="${RUST_LOG:-warn}" \
  "$ROOT/target/release/smartcrm" serve --seed-demo &
SERVER_PID=$!
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$APP_PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || die "the app exited during start-up"
  sleep 0.5
done

log "starting a second instance on 127.0.0.1:$LOCAL_APP_PORT with no remote AI provider (the local model answers)"
pg_create_db "$DB_PORT" e2e_local
pg_urls "$DB_PORT" e2e_local
# No pipeline workers there: drafting the demo tasks with the local model would take the CPU
# the local-AI walkthrough needs.
env -u OPENAI_API_KEY -u OPENAI_BASE_URL \
SMARTCRM_ADDR="127.0.0.1:$LOCAL_APP_PORT" SMARTCRM_WORKERS=0 \
LEPTOS_OUTPUT_NAME=smartcrm LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg LEPTOS_ENV=PROD \
RUST_LOG="${RUST_LOG:-warn}" \
  "$ROOT/target/release/smartcrm" serve --seed-demo &
LOCAL_SERVER_PID=$!
for port in "$APP_PORT" "$LOCAL_APP_PORT"; do
  for _ in $(seq 1 120); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null && kill -0 "$LOCAL_SERVER_PID" 2>/dev/null || die "an app instance exited during start-up"
    sleep 0.5
  done
done

log "Playwright (Debian chromium)"
(cd "$ROOT/end2end" && BASE_URL="http://127.0.0.1:$APP_PORT" LOCAL_BASE_URL="http://127.0.0.1:$LOCAL_APP_PORT" \
  MOCK_LLM_URL="http://127.0.0.1:$MOCK_PORT" npx playwright test)
log "all tests passed"
