#!/usr/bin/env bash
# Runs SmartCRM with demo data on http://127.0.0.1:3000.
# Installs what is missing, starts an embedded PostgreSQL 16 + pgvector in .data/ (unless
# DATABASE_URL is set), builds the release site, seeds the demo workspaces once and serves.
# Ctrl-C stops the app and the database.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

APP_ADDR="${SMARTCRM_ADDR:-127.0.0.1:3000}"
DB_PORT="${SMARTCRM_DB_PORT:-55432}"
EMBEDDED=0

build_site_release
ensure_models
export SMARTCRM_MODELS_DIR="$MODELS_DIR"

if [ -z "${DATABASE_URL:-}" ]; then
  EMBEDDED=1
  pg_start "$DATA/pgdata" "$DB_PORT"
  pg_create_db "$DB_PORT" smartcrm
  # the app as smartcrm_web (owns nothing), migrations as the owner; passwords in .data/secrets
  pg_urls "$DB_PORT" smartcrm
  log "embedded PostgreSQL on 127.0.0.1:$DB_PORT (data in .data/pgdata, passwords in .data/secrets)"
fi

SERVER_PID=""
stop() {
  trap - INT TERM EXIT
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ "$EMBEDDED" = 1 ]; then
    log "stopping the embedded PostgreSQL"
    pg_stop "$DATA/pgdata"
  fi
}
trap stop EXIT
trap 'exit 130' INT TERM

cd "$ROOT"
LEPTOS_OUTPUT_NAME=smartcrm LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg LEPTOS_ENV=PROD \
SMARTCRM_ADDR="$APP_ADDR" \
  "$ROOT/target/release/smartcrm" serve --seed-demo &
SERVER_PID=$!

for _ in $(seq 1 120); do
  if curl -fsS "http://$APP_ADDR/readyz" >/dev/null 2>&1; then break; fi
  kill -0 "$SERVER_PID" 2>/dev/null || { wait "$SERVER_PID"; exit 1; }
  sleep 0.5
done

cat <<BANNER

  SmartCRM is running at http://$APP_ADDR

  Demo sign-ins (password for all: smartcrm-demo)
    Acme Growth      admin@acme.test  manager@acme.test  rep@acme.test  qa@acme.test
    Globex Partners  admin@globex.test

  AI: $(if [ -n "${OPENAI_API_KEY:-}${OPENAI_BASE_URL:-}" ]; then echo "remote provider ${OPENAI_BASE_URL:-OpenAI}, built-in local models beside it"; else echo "built-in local model (SmolLM2-135M, low quality); set OPENAI_API_KEY or OPENAI_BASE_URL for a real one"; fi)

  Press Ctrl-C to stop.

BANNER
wait "$SERVER_PID"
